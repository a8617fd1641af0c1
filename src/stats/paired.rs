//! Paired comparison of modes measured in interleaved rounds: each mode's latency quantiles and
//! gateway CPU per request, and their cost over the no-auth floor measured in the same rounds,
//! each with a 95% cluster-bootstrap interval over rounds.
//!
//! Pooling a mode's slots gives its quantiles; a bootstrap draw picks rounds with replacement and
//! recomputes every figure from the same picked rounds for the mode and the floor, so what the
//! two shared (the machine's state in that round) cancels out of the cost.

use super::bootstrap::{Bootstrap, intervals, quantile};
use crate::results::{Estimate, ModeComparison, Quantiles};
use std::collections::BTreeMap;

/// The quantiles every comparison reports, in `Quantiles` order.
pub const QUANTILES: [f64; 3] = [0.50, 0.90, 0.99];

/// What one mode's slot in one round measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slot {
    /// Latency of every request of the slot (from intended send time), microseconds.
    pub latency_us: Vec<u32>,
    /// Requests that did not end in a 2xx.
    pub errors: u64,
    /// Gateway CPU seconds during the slot, when the gateway's process could be read.
    pub gateway_cpu_secs: Option<f64>,
}

/// One round: a slot per mode.
pub type Round = BTreeMap<String, Slot>;

/// Every mode of `rounds` against `floor`. A mode missing from a round is left out of that
/// round's figures (and its pairing). Deterministic for a given `boot`.
pub fn compare(floor: &str, rounds: &[Round], boot: Bootstrap) -> Vec<ModeComparison> {
    let mut modes: Vec<&String> = rounds.iter().flat_map(|r| r.keys()).collect();
    modes.sort();
    modes.dedup();
    modes
        .into_iter()
        .enumerate()
        .map(|(i, mode)| {
            let boot = Bootstrap {
                seed: boot.seed.wrapping_add(i as u64),
                ..boot
            };
            compare_mode(mode, floor, rounds, boot)
        })
        .collect()
}

fn compare_mode(mode: &str, floor: &str, rounds: &[Round], boot: Bootstrap) -> ModeComparison {
    let is_floor = mode == floor;
    // Only rounds that measured both sides of the pair take part.
    let paired: Vec<(&Slot, Option<&Slot>)> = rounds
        .iter()
        .filter_map(|r| {
            let own = r.get(mode)?;
            match is_floor {
                true => Some((own, None)),
                false => r.get(floor).map(|f| (own, Some(f))),
            }
        })
        .collect();
    let statistic = |draw: &[usize]| -> Vec<Option<f64>> {
        let picked = || draw.iter().map(|&i| paired[i]);
        let own = pooled_quantiles(picked().map(|(own, _)| own));
        let mut out = own.clone();
        out.push(cpu_us_per_request(picked().map(|(own, _)| own)));
        if !is_floor {
            let base = pooled_quantiles(picked().filter_map(|(_, f)| f));
            out.extend(own.iter().zip(&base).map(|(a, b)| Some((*a)? - (*b)?)));
            let base_cpu = cpu_us_per_request(picked().filter_map(|(_, f)| f));
            out.push(
                cpu_us_per_request(picked().map(|(own, _)| own))
                    .zip(base_cpu)
                    .map(|(a, b)| a - b),
            );
        }
        out
    };
    let mut estimates = intervals(paired.len(), boot, statistic).into_iter();
    let quantiles = |it: &mut dyn Iterator<Item = Option<Estimate>>| Quantiles {
        p50: it.next().flatten(),
        p90: it.next().flatten(),
        p99: it.next().flatten(),
    };
    let latency_us = quantiles(&mut estimates);
    let cpu_us_per_request = estimates.next().flatten();
    let (cost_us, cpu_cost_us_per_request) = match is_floor || paired.is_empty() {
        true => (None, None),
        false => (Some(quantiles(&mut estimates)), estimates.next().flatten()),
    };
    ModeComparison {
        mode: mode.to_string(),
        rounds: paired.len() as u64,
        requests: paired.iter().map(|(s, _)| s.latency_us.len() as u64).sum(),
        errors: paired.iter().map(|(s, _)| s.errors).sum(),
        latency_us,
        cost_us,
        cpu_us_per_request,
        cpu_cost_us_per_request,
    }
}

/// `QUANTILES` of the slots' latencies pooled together.
fn pooled_quantiles<'a>(slots: impl Iterator<Item = &'a Slot>) -> Vec<Option<f64>> {
    let mut all: Vec<u32> = slots.flat_map(|s| s.latency_us.iter().copied()).collect();
    QUANTILES.iter().map(|q| quantile(&mut all, *q)).collect()
}

/// Gateway CPU microseconds per request over the slots (None if any slot lacks a CPU figure).
fn cpu_us_per_request<'a>(slots: impl Iterator<Item = &'a Slot>) -> Option<f64> {
    let (mut cpu, mut requests) = (0.0, 0usize);
    for s in slots {
        cpu += s.gateway_cpu_secs?;
        requests += s.latency_us.len();
    }
    (requests > 0).then(|| cpu * 1e6 / requests as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Rounds where the machine's state (a factor shared by every mode of a round) varies 2x
    /// between rounds, floor latency is 300 µs plus an exponential tail, and `mode` adds `shift_us`.
    fn synthetic(rounds: usize, per_slot: usize, shift_us: f64, seed: u64) -> Vec<Round> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..rounds)
            .map(|_| {
                let machine = rng.random_range(0.8..1.6);
                let mut slot = |shift: f64| {
                    let latency_us = (0..per_slot)
                        .map(|_| {
                            let tail = -100.0 * (1.0 - rng.random::<f64>()).ln();
                            (machine * (300.0 + tail) + shift).round() as u32
                        })
                        .collect();
                    Slot {
                        latency_us,
                        errors: 0,
                        gateway_cpu_secs: Some(per_slot as f64 * (20.0 + shift / 10.0) * 1e-6),
                    }
                };
                Round::from([
                    ("none".to_string(), slot(0.0)),
                    ("cached".to_string(), slot(shift_us)),
                ])
            })
            .collect()
    }

    /// Fewer draws than a report uses: unoptimised test builds pay for every one.
    const TEST_BOOT: Bootstrap = Bootstrap {
        resamples: 400,
        seed: 7,
    };

    fn cached(rounds: &[Round]) -> ModeComparison {
        compare("none", rounds, TEST_BOOT)
            .into_iter()
            .find(|c| c.mode == "cached")
            .unwrap()
    }

    #[test]
    fn a_50_us_shift_is_detected_and_a_zero_shift_is_below_resolution() {
        let shifted = cached(&synthetic(10, 500, 50.0, 1));
        let p50 = shifted.cost_us.unwrap().p50.unwrap();
        assert!(!p50.contains_zero(), "{p50:?}");
        assert!(p50.lo <= 50.0 && p50.hi >= 50.0, "{p50:?}");
        let cpu = shifted.cpu_cost_us_per_request.unwrap();
        assert!((cpu.value - 5.0).abs() < 1e-6, "{cpu:?}");

        let same = cached(&synthetic(10, 500, 0.0, 2));
        let p50 = same.cost_us.unwrap().p50.unwrap();
        assert!(p50.contains_zero(), "{p50:?}");
        // The resolution is far below the 2x spread between rounds: pairing cancels it.
        assert!(p50.hi - p50.lo < 60.0, "{p50:?}");
    }

    #[test]
    fn intervals_cover_the_true_shift_about_95_percent_of_the_time() {
        let trials = 30;
        let covered = (0..trials)
            .filter(|&t| {
                let p50 = cached(&synthetic(12, 100, 30.0, 100 + t))
                    .cost_us
                    .unwrap()
                    .p50
                    .unwrap();
                p50.lo <= 30.0 && p50.hi >= 30.0
            })
            .count();
        // A cluster bootstrap over 12 rounds covers somewhat less than its nominal 95%.
        assert!(
            covered * 100 >= trials as usize * 85,
            "{covered} of {trials}"
        );
    }

    #[test]
    fn the_floor_has_no_cost_and_missing_pairs_are_left_out() {
        let mut rounds = synthetic(4, 50, 10.0, 3);
        rounds[1].remove("none");
        let all = compare("none", &rounds, TEST_BOOT);
        let floor = all.iter().find(|c| c.mode == "none").unwrap();
        assert!(floor.cost_us.is_none());
        assert_eq!(floor.rounds, 3);
        let cached = all.iter().find(|c| c.mode == "cached").unwrap();
        assert_eq!(
            cached.rounds, 3,
            "the round without a floor slot is not paired"
        );
        assert_eq!(cached.requests, 150);
        assert!(cached.latency_us.p99.unwrap().value >= cached.latency_us.p50.unwrap().value);
    }
}
