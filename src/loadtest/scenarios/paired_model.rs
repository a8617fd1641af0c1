//! The API-call model checked on a paired run: for each `--model`, the calls the mode's cache
//! should have made for the requests its slots sent, beside what the API server counted then.

use crate::loadtest::pair::ModelSpec;
use crate::results::{ModelCheck, ServerCounts};
use crate::stats::api_model::{agrees, simulated_misses};
use std::collections::BTreeMap;

/// Per mode: its (identity, µs) sends, warm-up included, and its measured slots' server counts.
pub type ModeSends<'a> = BTreeMap<&'a str, (&'a [(usize, u64)], &'a ServerCounts)>;

/// Checks over the whole run (warm-up and slots): its sends, timed from the warm-up's start,
/// against the API server's count over the same time.
pub fn checks(models: &[ModelSpec], modes: &ModeSends<'_>) -> Vec<ModelCheck> {
    models
        .iter()
        .filter_map(|m| {
            let (sends, server) = modes.get(m.mode.as_str())?;
            let measured_sends = sends.len() as u64;
            let predicted = match m.ttl_secs {
                Some(ttl) => simulated_misses(sends.iter().copied(), (ttl * 1e6) as u64),
                None => measured_sends,
            };
            // The API server was scraped when its always-present 429 count is there.
            let measured = server
                .apiserver_throttled
                .map(|_| server.apiserver_calls.get(&m.api).copied().unwrap_or(0));
            Some(ModelCheck {
                mode: m.mode.clone(),
                api: m.api.clone(),
                ttl_secs: m.ttl_secs,
                requests: measured_sends,
                predicted,
                measured,
                agrees: measured.map(|n| agrees(n, predicted)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicts_from_sends_and_compares_with_the_count() {
        let sends: Vec<(usize, u64)> = (0..100).map(|k| (k % 2, k as u64 * 100_000)).collect();
        let mut server = ServerCounts {
            apiserver_throttled: Some(0),
            ..Default::default()
        };
        server.apiserver_calls.insert("tokenreviews".into(), 4);
        let modes = ModeSends::from([("cached", (sends.as_slice(), &server))]);
        let models: Vec<ModelSpec> = [
            "cached:tokenreviews:5",
            "cached:subjectaccessreviews:every",
            "jwks:tokenreviews:5",
        ]
        .iter()
        .map(|m| m.parse().unwrap())
        .collect();
        let out = checks(&models, &modes);
        assert_eq!(out.len(), 2, "no sends of jwks, no check");
        // 2 identities over 10 s with a 5 s TTL: each misses at 0 and 5 s.
        assert_eq!(
            (out[0].predicted, out[0].measured, out[0].agrees),
            (4, Some(4), Some(true))
        );
        assert_eq!(
            (out[1].predicted, out[1].measured, out[1].agrees),
            (100, Some(0), Some(false))
        );
    }
}
