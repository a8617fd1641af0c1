//! Figures derived from runs, shared by the verdict, claims, tables and charts: which run
//! answers a question, per-run ratios, and API-call rates projected back to real time.

use crate::results::{
    Comparison, Estimate, LoadSummary, ModeComparison, Results, RunOutcome, RunRecord, Scenario,
};

/// Modes in the order the report lists them: the gateway's auth modes, then the peers.
pub const MODE_ORDER: [&str; 8] = [
    "none",
    "tokenreview",
    "cached",
    "jwks",
    "mtls",
    "hybrid",
    "kube-rbac-proxy",
    "external",
];

/// Modes that keep a TTL cache of auth answers, so their API calls are driven by the TTL
/// (scaled down in short profiles) rather than by the request rate.
const TTL_DRIVEN_MODES: [&str; 4] = ["cached", "jwks", "mtls", "hybrid"];

/// A steady run is used for a rate only when its offered rate is within this factor.
const NEAREST_RATE_FACTOR: f64 = 1.5;

/// Share of the offered rate a run must achieve to count as holding it.
pub const HELD_ACHIEVED_SHARE: f64 = 0.95;

/// Error ratio above which a run did not hold its rate.
pub const HELD_MAX_ERROR_RATIO: f64 = 0.01;

/// The time-scale factor of the results; a missing or non-positive factor means real time.
pub fn time_scale(results: &Results) -> f64 {
    let scale = results.environment.time_scale;
    if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// The time scale `run`'s TTLs ran at: its own `params.ttl_time_scale` (paired comparisons run
/// real-time TTLs), else the results' factor.
pub fn run_time_scale(run: &RunRecord, results_scale: f64) -> f64 {
    run.params
        .get("ttl_time_scale")
        .and_then(|v| v.as_f64())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(results_scale)
}

/// Runs that finished with measurements.
pub fn with_data(results: &Results) -> impl Iterator<Item = (&RunRecord, &LoadSummary)> {
    results
        .runs
        .iter()
        .filter_map(|run| match (&run.outcome, &run.load) {
            (RunOutcome::Ok, Some(load)) => Some((run, load)),
            _ => None,
        })
}

/// Runs of one scenario and mode that have data.
pub fn runs_of<'a>(
    results: &'a Results,
    scenario: Scenario,
    mode: &'a str,
) -> impl Iterator<Item = (&'a RunRecord, &'a LoadSummary)> {
    with_data(results).filter(move |(run, _)| run.scenario == scenario && run.mode == mode)
}

/// Modes present in the results, in report order (unknown modes last, alphabetically).
pub fn modes(results: &Results) -> Vec<String> {
    let mut modes: Vec<String> = results.runs.iter().map(|r| r.mode.clone()).collect();
    modes.sort_by_key(|m| {
        let rank = MODE_ORDER
            .iter()
            .position(|o| o == m)
            .unwrap_or(MODE_ORDER.len());
        (rank, m.clone())
    });
    modes.dedup();
    modes
}

/// Whether an offered rate answers for `rps` (within `NEAREST_RATE_FACTOR` of it).
fn near(offered_rps: f64, rps: f64) -> bool {
    offered_rps > 0.0
        && offered_rps <= rps * NEAREST_RATE_FACTOR
        && offered_rps >= rps / NEAREST_RATE_FACTOR
}

/// The steady run of `mode` whose offered rate is nearest to `rps` (within a factor of 1.5).
pub fn nearest_steady<'a>(
    results: &'a Results,
    mode: &'a str,
    rps: f64,
) -> Option<(&'a RunRecord, &'a LoadSummary)> {
    nearest(runs_of(results, Scenario::Steady, mode), rps)
}

/// The run among `runs` whose offered rate is nearest to `rps` (within a factor of 1.5).
fn nearest<'a>(
    runs: impl Iterator<Item = (&'a RunRecord, &'a LoadSummary)>,
    rps: f64,
) -> Option<(&'a RunRecord, &'a LoadSummary)> {
    runs.filter(|(run, _)| near(run.offered_rps, rps))
        .min_by(|(a, _), (b, _)| {
            let da = (a.offered_rps - rps).abs();
            let db = (b.offered_rps - rps).abs();
            da.total_cmp(&db)
        })
}

/// The paired comparison whose offered rate is nearest to `rps` (within a factor of 1.5).
pub fn comparison_near(results: &Results, rps: f64) -> Option<&Comparison> {
    results
        .comparisons
        .iter()
        .filter(|c| near(c.offered_rps, rps))
        .min_by(|a, b| {
            (a.offered_rps - rps)
                .abs()
                .total_cmp(&(b.offered_rps - rps).abs())
        })
}

/// `mode`'s gateway CPU per request from the highest-rate comparison that measured it (at low
/// rates a request's share of timers and wake-ups inflates it), with that comparison's rate.
pub fn cpu_per_request(results: &Results, mode: &str) -> Option<(f64, Estimate)> {
    results
        .comparisons
        .iter()
        .filter_map(|c| Some((c.offered_rps, c.mode(mode)?.cpu_us_per_request?)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// `mode`'s gateway CPU per request at the highest saturation step it carried (achieved >= 95%
/// of offered): per-request overheads that a low rate inflates are amortized there. One step,
/// so no interval. Returns (step rate, µs).
pub fn ramp_cpu_per_request(results: &Results, mode: &str) -> Option<(f64, f64)> {
    runs_of(results, Scenario::Saturation, mode)
        .flat_map(|(_, load)| load.steps.iter())
        .filter(|s| s.achieved_rps >= s.offered_rps * HELD_ACHIEVED_SHARE)
        .filter_map(|s| Some((s.offered_rps, s.gateway_cpu_us_per_request?)))
        .filter(|(_, cpu)| *cpu > 0.0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Requests per second one core of this machine serves in `mode`: 1 s over its CPU per request,
/// the interval inverted with it.
pub fn capacity_per_core(cpu_us: &Estimate) -> Option<Estimate> {
    (cpu_us.lo > 0.0).then(|| Estimate {
        value: 1e6 / cpu_us.value,
        lo: 1e6 / cpu_us.hi,
        hi: 1e6 / cpu_us.lo,
        n: cpu_us.n,
    })
}

/// The p99 latency cost of `mode` over the floor in comparison `c`.
pub fn p99_cost<'a>(c: &'a Comparison, mode: &str) -> Option<&'a Estimate> {
    c.mode(mode)
        .and_then(|m: &ModeComparison| m.cost_us.as_ref()?.p99.as_ref())
}

/// Fewest paired rounds a round-paired cost is computed from (with 6 the interval is the range
/// of the differences, 97% coverage).
const MIN_PAIRED_ROUNDS: usize = 6;

/// The p99 cost of `mode` in a typical round: the median over rounds of (its slot's p99 minus
/// the floor's slot p99 of the same round), with a distribution-free 95% interval from order
/// statistics (the sign-test interval for a median). Adjacent slots share the machine's state,
/// and a burst of noise that lands in one mode's slot moves one difference, not the median; the
/// pooled-p99 cost instead depends on which modes' slots the bursts happened to hit.
pub fn round_p99_cost(c: &Comparison, mode: &str) -> Option<Estimate> {
    let floor: std::collections::BTreeMap<u64, u64> = c
        .slots
        .iter()
        .filter(|s| s.mode == c.floor && s.requests > 0)
        .map(|s| (s.round, s.p99_us))
        .collect();
    let mut diffs: Vec<f64> = c
        .slots
        .iter()
        .filter(|s| s.mode == mode && s.requests > 0)
        .filter_map(|s| Some(s.p99_us as f64 - *floor.get(&s.round)? as f64))
        .collect();
    let n = diffs.len();
    if n < MIN_PAIRED_ROUNDS || mode == c.floor {
        return None;
    }
    diffs.sort_by(f64::total_cmp);
    // Order statistics k and n-1-k bound the median with ~95% coverage (normal approximation
    // to Binomial(n, 1/2), rounded outward).
    let k = ((n as f64 - 1.96 * (n as f64).sqrt()) / 2.0)
        .floor()
        .max(0.0) as usize;
    let median = if n % 2 == 1 {
        diffs[n / 2]
    } else {
        (diffs[n / 2 - 1] + diffs[n / 2]) / 2.0
    };
    Some(Estimate {
        value: median,
        lo: diffs[k],
        hi: diffs[n - 1 - k],
        n: n as u64,
    })
}

/// Requests the generator sent (histogram count, or the status counts when no histogram).
pub fn requests(load: &LoadSummary) -> u64 {
    if load.latency_us.count > 0 {
        load.latency_us.count
    } else {
        load.status_counts.values().sum::<u64>() + load.errors.values().sum::<u64>()
    }
}

/// Share of requests that were not 2xx (including transport errors).
pub fn error_ratio(load: &LoadSummary) -> f64 {
    let ok: u64 = load
        .status_counts
        .iter()
        .filter(|(code, _)| code.starts_with('2'))
        .map(|(_, n)| n)
        .sum();
    let total = load.status_counts.values().sum::<u64>() + load.errors.values().sum::<u64>();
    if total == 0 {
        0.0
    } else {
        1.0 - ok as f64 / total as f64
    }
}

/// Whether a run held its offered rate: achieved >= 95% of offered, p99 within the SLO and
/// at most 1% errors.
pub fn held(run: &RunRecord, load: &LoadSummary, slo_p99_us: u64) -> bool {
    load.achieved_rps >= run.offered_rps * HELD_ACHIEVED_SHARE
        && load.latency_us.p99 <= slo_p99_us
        && error_ratio(load) <= HELD_MAX_ERROR_RATIO
}

/// Authentication/authorization calls (TokenReview + SubjectAccessReview) the API server counted.
pub fn auth_calls(run: &RunRecord) -> u64 {
    ["tokenreviews", "subjectaccessreviews"]
        .iter()
        .map(|r| run.server().apiserver_calls.get(*r).copied().unwrap_or(0))
        .sum()
}

/// TokenReviews per request sent.
pub fn tokenreviews_per_request(run: &RunRecord, load: &LoadSummary) -> Option<f64> {
    let n = requests(load);
    (n > 0).then(|| run.server().tokenreviews().unwrap_or(0) as f64 / n as f64)
}

/// Auth API calls per minute, projected to real time. Calls of TTL-driven modes happen
/// `time_scale` times more often in a scaled-down run, so they are divided by it; calls of
/// `tokenreview`/`none` follow the request rate, which is real, so they are not.
pub fn api_calls_per_min_real(run: &RunRecord, time_scale: f64) -> Option<f64> {
    if run.duration_secs <= 0.0 {
        return None;
    }
    let per_min = auth_calls(run) as f64 / run.duration_secs * 60.0;
    Some(per_min / real_time_divisor(&run.mode, run_time_scale(run, time_scale)))
}

/// What to divide a mode's per-minute API-call rate by to project it to real time.
pub fn real_time_divisor(mode: &str, time_scale: f64) -> f64 {
    if TTL_DRIVEN_MODES.contains(&mode) && time_scale > 0.0 {
        time_scale
    } else {
        1.0
    }
}

/// Seconds of `run`'s revocation measurement projected to real time. Only delays that wait out a
/// scaled TTL (token cache, token expiry) are multiplied by the run's time-scale factor; a CRL
/// reload or an uncached review is as fast in a scaled run as in a real one. When the run states
/// its token TTL as run (`params.token_ttl_secs`), only the part of the delay up to that TTL is
/// the cache's and scaled: what lies beyond it is the API server's own lag (a real
/// kube-apiserver's token authenticator takes seconds to see a deleted ServiceAccount), real time.
pub fn revocation_real_secs(run: &RunRecord, method: &str, ms: u64, time_scale: f64) -> f64 {
    let mode = run.mode.as_str();
    let secs = ms as f64 / 1_000.0;
    let ttl_bound = matches!(mode, "cached" | "jwks" | "hybrid") && method != "crl";
    let scale = run_time_scale(run, time_scale);
    if !ttl_bound || scale <= 1.0 {
        return secs;
    }
    match run.params.get("token_ttl_secs").and_then(|v| v.as_f64()) {
        Some(ttl) if ttl > 0.0 => secs.min(ttl) * scale + (secs - ttl).max(0.0),
        _ => secs * scale,
    }
}

/// Optional per-interval auth API calls of a run, `params.apiserver_calls_timeline` =
/// `[[t_secs, calls_in_interval], ...]` with intervals of equal length; None when absent or malformed.
pub fn calls_timeline(run: &RunRecord) -> Option<Vec<(f64, f64)>> {
    let points = run.params.get("apiserver_calls_timeline")?.as_array()?;
    points
        .iter()
        .map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?))
        })
        .collect()
}

/// Gateway CPU milliseconds per 1,000 requests.
pub fn cpu_ms_per_1000(run: &RunRecord, load: &LoadSummary) -> Option<f64> {
    let n = requests(load);
    let cpu = run.server().gateway_cpu_secs.unwrap_or(0.0);
    (n > 0 && cpu > 0.0).then(|| cpu / n as f64 * 1_000.0 * 1_000.0)
}

/// Whether `mode`'s paired run nearest `rps` measured its slots without an API call: the API
/// server counted no TokenReview or SubjectAccessReview, the gateway reported none, and its token
/// cache (if it has one) missed nothing. None when there is no such run.
pub fn paired_without_api_calls(results: &Results, mode: &str, rps: f64) -> Option<bool> {
    let paired = runs_of(results, Scenario::Steady, mode)
        .filter(|(run, _)| run.params.contains_key("paired_with"));
    let (run, _) = nearest(paired, rps)?;
    let server = run.server();
    Some(
        auth_calls(run) == 0
            && server.gateway_apiserver_calls.values().all(|n| *n == 0)
            && server.token_cache.as_ref().is_none_or(|c| c.misses == 0),
    )
}

/// Whether the API server or the gateway's client-side rate limiter throttled during the run.
pub fn throttled(run: &RunRecord) -> bool {
    run.server().throttled()
}

/// What a mode held in the saturation ramp.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// Highest offered rate held (0 when no step held).
    pub held_rps: f64,
    /// Highest offered rate the ramp tried.
    pub ramp_top_rps: f64,
    /// Whether the generator, not the gateway, limited a step.
    pub generator_limited: bool,
    /// The ramp's first step (offered RPS, achieved RPS, p99 µs), to say what happened when no
    /// step held.
    pub first_step: Option<(f64, f64, u64)>,
}

impl Capacity {
    /// The held rate for a table; when no step held, what the first step did instead of "0".
    pub fn text(&self) -> String {
        match self.first_step {
            Some((offered, achieved, p99)) if self.held_rps <= 0.0 => format!(
                "below the ramp's first step: {} RPS offered, {} achieved, p99 {}",
                crate::report::numfmt::rps(offered),
                crate::report::numfmt::rps(achieved),
                crate::report::numfmt::latency_us(p99)
            ),
            _ => crate::report::numfmt::rps(self.held_rps),
        }
    }
}

/// The highest rate `mode` held in a saturation run (from `max_held_rps`, else from its steps).
pub fn capacity(results: &Results, mode: &str, slo_p99_us: u64) -> Option<Capacity> {
    runs_of(results, Scenario::Saturation, mode)
        .filter_map(|(run, load)| {
            let ramp_top_rps = load
                .steps
                .iter()
                .map(|s| s.offered_rps)
                .fold(run.offered_rps.max(load.offered_rps), f64::max);
            let from_steps = || {
                load.steps
                    .iter()
                    .filter(|s| s.held && s.latency_us.p99 <= slo_p99_us)
                    .map(|s| s.offered_rps)
                    .fold(0.0, f64::max)
            };
            let held_rps = match load.max_held_rps {
                Some(rps) => rps,
                None if !load.steps.is_empty() => from_steps(),
                None => return None,
            };
            // A step the generator could not drive says nothing about the gateway.
            let step_limited = load.steps.iter().any(|s| !s.held && s.generator_limited);
            Some(Capacity {
                held_rps,
                ramp_top_rps,
                generator_limited: load.generator.limited || step_limited,
                first_step: load
                    .steps
                    .first()
                    .map(|s| (s.offered_rps, s.achieved_rps, s.latency_us.p99)),
            })
        })
        .max_by(|a, b| a.held_rps.total_cmp(&b.held_rps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CacheCounts, Environment, LatencyUs, RateStep, ServerCounts};
    use std::collections::BTreeMap;

    fn run(mode: &str, scenario: Scenario, offered_rps: f64, mut load: LoadSummary) -> RunRecord {
        load.server = ServerCounts {
            apiserver_calls: BTreeMap::from([
                ("tokenreviews".into(), 300),
                ("subjectaccessreviews".into(), 300),
                ("serviceaccounts/token".into(), 50),
            ]),
            apiserver_throttled: Some(0),
            client_throttle_wait_secs: Some(0.0),
            token_cache: Some(CacheCounts { hits: 9, misses: 1 }),
            gateway_cpu_secs: Some(1.5),
            tls_handshakes: Some(0),
            ..Default::default()
        };
        RunRecord {
            id: format!("{}/{mode}/{offered_rps}", scenario.as_str()),
            scenario,
            mode: mode.into(),
            offered_rps,
            params: BTreeMap::new(),
            outcome: RunOutcome::Ok,
            load: Some(load),
            duration_secs: 30.0,
        }
    }

    fn results(runs: Vec<RunRecord>, time_scale: f64) -> Results {
        Results {
            environment: Environment {
                time_scale,
                ..Default::default()
            },
            runs,
            ..Default::default()
        }
    }

    #[test]
    fn api_calls_are_projected_only_for_ttl_driven_modes() {
        let load = LoadSummary::default();
        // 600 auth calls (setup calls excluded) over 30 s = 1,200 per minute as run.
        let cached = run("cached", Scenario::Steady, 100.0, load.clone());
        let uncached = run("tokenreview", Scenario::Steady, 100.0, load);
        assert_eq!(api_calls_per_min_real(&cached, 10.0), Some(120.0));
        assert_eq!(api_calls_per_min_real(&uncached, 10.0), Some(1_200.0));
        assert_eq!(api_calls_per_min_real(&cached, 0.0), Some(1_200.0));
        assert_eq!(time_scale(&results(vec![], -1.0)), 1.0);
        // A run that ran real-time TTLs (a paired comparison) is not projected.
        let mut real = cached.clone();
        real.params
            .insert("ttl_time_scale".into(), serde_json::json!(1.0));
        assert_eq!(api_calls_per_min_real(&real, 10.0), Some(1_200.0));
        assert_eq!(run_time_scale(&real, 10.0), 1.0);
        assert_eq!(run_time_scale(&cached, 10.0), 10.0);
    }

    #[test]
    fn only_ttl_bound_revocations_are_scaled() {
        let rev = |mode: &str| run(mode, Scenario::Revocation, 100.0, LoadSummary::default());
        let cached = rev("cached");
        assert_eq!(
            revocation_real_secs(&cached, "serviceaccount-delete", 3_000, 10.0),
            30.0
        );
        assert_eq!(
            revocation_real_secs(&rev("hybrid"), "crl", 3_000, 10.0),
            3.0
        );
        assert_eq!(
            revocation_real_secs(&rev("tokenreview"), "serviceaccount-delete", 40, 10.0),
            0.04
        );
        assert_eq!(revocation_real_secs(&rev("mtls"), "crl", 500, 10.0), 0.5);
        // Beyond the TTL as run the delay is the API server's own, not scaled: a 5 s cache
        // (scaled 60x) refused after 7 s is 5 min of cache and 2 s of API server.
        let mut stated = rev("cached");
        stated.params.insert("token_ttl_secs".into(), 5.0.into());
        assert_eq!(
            revocation_real_secs(&stated, "serviceaccount-delete", 7_000, 60.0),
            302.0
        );
        assert_eq!(
            revocation_real_secs(&stated, "serviceaccount-delete", 4_000, 60.0),
            240.0
        );
        // A run at real-time TTLs is never scaled.
        stated.params.insert("ttl_time_scale".into(), 1.0.into());
        assert_eq!(
            revocation_real_secs(&stated, "serviceaccount-delete", 7_000, 60.0),
            7.0
        );
    }

    #[test]
    fn nearest_steady_stays_within_a_factor_of_one_and_a_half() {
        let mk = |rps| run("cached", Scenario::Steady, rps, LoadSummary::default());
        let r = results(vec![mk(90.0), mk(120.0), mk(1_000.0)], 1.0);
        assert_eq!(
            nearest_steady(&r, "cached", 100.0).unwrap().0.offered_rps,
            90.0
        );
        assert_eq!(
            nearest_steady(&r, "cached", 700.0).unwrap().0.offered_rps,
            1_000.0
        );
        assert!(nearest_steady(&r, "cached", 400.0).is_none());
        assert!(nearest_steady(&r, "jwks", 100.0).is_none());
    }

    #[test]
    #[allow(clippy::needless_update)] // later fields of the schema version default
    fn capacity_prefers_max_held_and_falls_back_to_held_steps() {
        let step = |offered_rps, p99, held| RateStep {
            offered_rps,
            achieved_rps: offered_rps,
            latency_us: LatencyUs {
                count: 10,
                p99,
                ..Default::default()
            },
            error_ratio: 0.0,
            held,
            ..Default::default()
        };
        let mut load = LoadSummary {
            steps: vec![
                step(100.0, 900, true),
                step(200.0, 1_900, true),
                step(400.0, 9_000, false),
            ],
            ..Default::default()
        };
        let r = results(
            vec![run("cached", Scenario::Saturation, 100.0, load.clone())],
            1.0,
        );
        let c = capacity(&r, "cached", 2_000).unwrap();
        assert_eq!((c.held_rps, c.ramp_top_rps), (200.0, 400.0));
        // A tighter SLO than the ramp used re-judges the steps.
        assert_eq!(capacity(&r, "cached", 1_000).unwrap().held_rps, 100.0);
        let none_held = capacity(&r, "cached", 1).unwrap();
        assert_eq!(none_held.held_rps, 0.0);
        assert!(
            none_held
                .text()
                .starts_with("below the ramp's first step: 100 RPS offered"),
            "{}",
            none_held.text()
        );
        load.max_held_rps = Some(350.0);
        let r = results(vec![run("cached", Scenario::Saturation, 100.0, load)], 1.0);
        assert_eq!(capacity(&r, "cached", 2_000).unwrap().held_rps, 350.0);
    }

    #[test]
    fn round_paired_cost_is_the_median_difference_and_ignores_one_noisy_round() {
        use crate::results::SlotFigures;
        let slot = |round, mode: &str, p99_us| SlotFigures {
            round,
            mode: mode.into(),
            requests: 100,
            p50_us: 100,
            p99_us,
            gateway_cpu_us_per_request: None,
        };
        let mut c = Comparison {
            floor: "none".into(),
            ..Default::default()
        };
        // Ten rounds: cached 50 µs above the floor, except one round whose cached slot caught
        // a 9 ms stall.
        for round in 0..10 {
            let floor = 500 + round * 40;
            c.slots.push(slot(round, "none", floor));
            let extra = if round == 3 { 9_000 } else { 50 };
            c.slots.push(slot(round, "cached", floor + extra));
        }
        let e = round_p99_cost(&c, "cached").unwrap();
        assert_eq!((e.value, e.n), (50.0, 10));
        // k = floor((10 - 1.96 * 3.16) / 2) = 1: the second-lowest and second-highest.
        assert_eq!((e.lo, e.hi), (50.0, 50.0));
        assert!(round_p99_cost(&c, "none").is_none());
        c.slots.retain(|s| s.round < 5);
        assert!(round_p99_cost(&c, "cached").is_none(), "too few rounds");
    }

    #[test]
    fn error_ratio_counts_non_2xx_and_transport_errors() {
        let load = LoadSummary {
            status_counts: BTreeMap::from([
                ("201".into(), 97),
                ("202".into(), 1),
                ("503".into(), 1),
            ]),
            errors: BTreeMap::from([("timeout".into(), 1)]),
            ..Default::default()
        };
        assert!((error_ratio(&load) - 0.02).abs() < 1e-12);
        assert_eq!(requests(&load), 100);
    }
}
