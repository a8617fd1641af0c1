//! Fixture results for the report tests: a complete, plausible matrix whose values can be
//! nudged exactly onto each threshold of the verdict.
#![allow(dead_code)]

use gatebench::results::*;
use std::collections::BTreeMap;

pub const SLO_US: u64 = 2_000;

pub fn latency(p50: u64, p99: u64, count: u64) -> LatencyUs {
    LatencyUs {
        count,
        p50,
        p90: (p50 + p99) / 2,
        p99,
        p999: p99 * 2,
        max: p99 * 4,
        mean: p50 as f64 * 1.1,
    }
}

#[allow(clippy::needless_update)] // later fields of the schema version default
pub fn load(scenario: &str, offered: f64, achieved: f64, lat: LatencyUs) -> LoadSummary {
    LoadSummary {
        schema_version: SCHEMA_VERSION,
        scenario: scenario.into(),
        target: "http://127.0.0.1:1".into(),
        method:
            "latency from intended send time (fixed-rate schedule), coordinated omission corrected"
                .into(),
        offered_rps: offered,
        achieved_rps: achieved,
        duration_secs: 20.0,
        users: 8,
        identities: 10,
        status_counts: BTreeMap::from([("201".to_string(), lat.count)]),
        latency_us: lat,
        generator: GeneratorLimit {
            limited: false,
            reason: None,
            cpu_cores_used: 0.3,
            ..Default::default()
        },
        connection: "keepalive".into(),
        ..Default::default()
    }
}

pub fn record(scenario: Scenario, mode: &str, offered: f64, load: LoadSummary) -> RunRecord {
    let mut r = RunRecord {
        id: format!("{}/{mode}/{offered}", scenario.as_str()),
        scenario,
        mode: mode.into(),
        offered_rps: offered,
        params: BTreeMap::new(),
        outcome: RunOutcome::Ok,
        load: Some(load),
        duration_secs: 20.0,
    };
    // Measured runs always have the API server's and the gateway's counters, zero or not.
    let server = r.server_mut();
    server.gateway_cpu_secs = Some(0.8);
    server.apiserver_throttled = Some(0);
    server.client_throttle_wait_secs = Some(0.0);
    r
}

/// A steady run; cached-style modes get a token cache with `hit_ratio` over 10,000 lookups.
pub fn steady(mode: &str, offered: f64, p99_us: u64, hit_ratio: Option<f64>) -> RunRecord {
    let count = (offered * 20.0) as u64;
    let mut r = record(
        Scenario::Steady,
        mode,
        offered,
        load(
            "steady",
            offered,
            offered,
            latency(p99_us / 3, p99_us, count),
        ),
    );
    let tokenreviews = match mode {
        "tokenreview" => count,
        "cached" => 10,
        _ => 0,
    };
    r.server_mut().apiserver_calls = BTreeMap::from([
        ("tokenreviews".into(), tokenreviews),
        ("subjectaccessreviews".into(), tokenreviews),
    ]);
    r.server_mut().token_cache = hit_ratio.map(|h| {
        let hits = (h * 10_000.0).round() as u64;
        CacheCounts {
            hits,
            misses: 10_000 - hits,
        }
    });
    r
}

#[allow(clippy::needless_update)] // later fields of the schema version default
pub fn saturation(mode: &str, max_held: f64, top: f64) -> RunRecord {
    let mut l = load("saturation", top, max_held, latency(500, 1_500, 50_000));
    let mut rate = 250.0;
    while rate <= top {
        let held = rate <= max_held;
        let p99 = if held { 1_500 } else { 40_000 };
        l.steps.push(RateStep {
            offered_rps: rate,
            achieved_rps: if held { rate } else { max_held },
            latency_us: latency(p99 / 3, p99, (rate * 5.0) as u64),
            error_ratio: 0.0,
            held,
            ..Default::default()
        });
        rate *= 2.0;
    }
    l.max_held_rps = Some(max_held);
    record(Scenario::Saturation, mode, top, l)
}

/// Everything the matrix produces, with the cached gateway comfortably keeping TokenReview.
pub fn keep_baseline() -> Results {
    let mut runs = vec![
        steady("none", 100.0, 400, None),
        steady("none", 1_000.0, 600, None),
        steady("tokenreview", 100.0, 90_000, None),
        steady("tokenreview", 1_000.0, 900_000, None),
        steady("cached", 100.0, 1_500, Some(0.99)),
        steady("cached", 1_000.0, 1_800, Some(0.995)),
        steady("jwks", 100.0, 900, Some(0.0)),
        steady("jwks", 1_000.0, 1_100, Some(0.0)),
        steady("mtls", 100.0, 1_000, None),
        steady("mtls", 1_000.0, 1_200, None),
        saturation("cached", 4_000.0, 8_000.0),
        saturation("mtls", 6_000.0, 8_000.0),
        saturation("tokenreview", 250.0, 8_000.0),
    ];
    let mut churn = record(
        Scenario::Churn,
        "cached",
        100.0,
        load("churn", 100.0, 100.0, latency(600, 1_800, 4_000)),
    );
    churn.load.as_mut().unwrap().churn = [0.0, 0.02, 0.05, 0.1, 0.3]
        .iter()
        .map(|&c| ChurnPoint {
            churn_fraction: c,
            requests: 800,
            token_hit_ratio: 0.995 - c,
            tokenreviews: (800.0 * c) as u64,
        })
        .collect();
    runs.push(churn);
    for (mode, delay) in [
        ("cached", Some(24_000)),
        ("tokenreview", Some(40)),
        ("jwks", None),
    ] {
        let mut r = record(
            Scenario::Revocation,
            mode,
            10.0,
            load("revocation", 10.0, 10.0, latency(500, 1_500, 600)),
        );
        r.load.as_mut().unwrap().revocation = Some(RevocationResult {
            method: "serviceaccount-delete".into(),
            delay_ms: delay,
            observed_for_ms: 40_000,
            accepted_after_revocation: 3,
        });
        runs.push(r);
    }
    let mut outage = record(
        Scenario::Outage,
        "cached",
        50.0,
        load("outage", 50.0, 45.0, latency(500, 1_500, 1_500)),
    );
    outage
        .params
        .insert("outage_at_secs".into(), serde_json::json!(10.0));
    outage.load.as_mut().unwrap().outage = Some(OutageResult {
        window_secs: 10.0,
        known: Availability {
            requests: 500,
            ok: 500,
            codes: BTreeMap::from([("201".into(), 500)]),
        },
        new: Availability {
            requests: 100,
            ok: 0,
            codes: BTreeMap::from([("503".into(), 100)]),
        },
        recovery_ms: Some(120),
        timeline: (0..30)
            .map(|t| (t as f64, if (10..20).contains(&t) { 0.83 } else { 1.0 }))
            .collect(),
    });
    runs.push(outage);
    let mut cold = record(
        Scenario::ColdBurst,
        "cached",
        200.0,
        load("cold-burst", 200.0, 200.0, latency(60_000, 95_000, 200)),
    );
    cold.load.as_mut().unwrap().cold_burst = Some(ColdBurstResult {
        concurrency: 200,
        identities: 200,
        tokenreviews: 200,
        subjectaccessreviews: 200,
        latency_us: latency(60_000, 95_000, 200),
    });
    runs.push(cold);
    for (mode, wait) in [("tokenreview", 12.5), ("cached", 0.0)] {
        // An API-server inflight-cap run first, so the claim must pick the client-QPS run.
        let mut capped = record(
            Scenario::Throttle,
            mode,
            0.0,
            load("throttle", 0.0, 150.0, latency(5_000, 90_000, 2_000)),
        );
        capped.id = format!("throttle/{mode}/inflight-10");
        capped.server_mut().apiserver_throttled = Some(400);
        capped
            .params
            .insert("max_inflight".into(), serde_json::json!(10));
        runs.push(capped);
        let mut r = record(
            Scenario::Throttle,
            mode,
            0.0,
            load("throttle", 0.0, 180.0, latency(800_000, 1_500_000, 2_000)),
        );
        r.id = format!("throttle/{mode}/client-qps-50");
        r.params.insert("kube_qps".into(), serde_json::json!(50));
        r.server_mut().client_throttle_wait_secs = Some(wait);
        runs.push(r);
    }
    for (connection, handshakes) in [("keepalive", 8), ("new-connection", 1_000)] {
        let mut r = record(
            Scenario::Handshake,
            "mtls",
            50.0,
            load("handshake", 50.0, 50.0, latency(900, 1_900, 1_000)),
        );
        r.id = format!("handshake/mtls/{connection}");
        r.params
            .insert("connection".into(), serde_json::json!(connection));
        r.server_mut().tls_handshakes = Some(handshakes);
        runs.push(r);
    }
    let mut skipped = record(
        Scenario::Handshake,
        "mtls",
        50.0,
        load("handshake", 50.0, 0.0, LatencyUs::default()),
    );
    skipped.outcome = RunOutcome::Skipped {
        reason: "not in this profile".into(),
    };
    skipped.load = None;
    runs.push(skipped);
    Results {
        schema_version: SCHEMA_VERSION,
        partial: false,
        environment: Environment {
            gatebench_version: "0.1.0".into(),
            git_commit: Some("abc123".into()),
            rustc_version: "rustc 1.90.0".into(),
            os: "linux".into(),
            cpu_model: "Test CPU".into(),
            cpus: 2,
            profile: "quick".into(),
            time_scale: 10.0,
            target: "embedded".into(),
            command_line: "gatebench decide --profile quick".into(),
            started_at: "2026-11-28T06:00:00Z".into(),
            finished_at: Some("2026-11-28T06:05:00Z".into()),
            latency_method: "coordinated omission corrected".into(),
            pinned: true,
            kube_apiserver_version: None,
            etcd_version: None,
        },
        settings: Settings {
            slo_p99_us: SLO_US,
            ..Settings::default()
        },
        runs,
        microbenchmarks: vec![MicroBench {
            id: "auth/cache_hit".into(),
            median_ns: 850.0,
            lower_ns: 800.0,
            upper_ns: 900.0,
        }],
        comparisons: vec![
            comparison(100.0, &BASELINE_COSTS),
            comparison(1_000.0, &BASELINE_COSTS),
        ],
        verdict: None,
    }
}

/// An estimate `value` with a symmetric interval of +- `half` over 10 rounds.
pub fn est(value: f64, half: f64) -> Estimate {
    Estimate {
        value,
        lo: value - half,
        hi: value + half,
        n: 10,
    }
}

/// (mode, p50 cost µs, p99 cost µs, CPU µs per request); the floor is `none` with 300 / 900 µs
/// absolute and 16 µs of CPU per request.
pub type ModeCost = (&'static str, f64, f64, f64);

pub const BASELINE_COSTS: [ModeCost; 5] = [
    ("tokenreview", 900.0, 2_500.0, 60.0),
    ("cached", 12.0, 40.0, 20.0),
    ("jwks", 10.0, 30.0, 19.0),
    ("mtls", 6.0, 20.0, 18.0),
    ("hybrid", 14.0, 45.0, 21.0),
];

/// A paired comparison at `rate` with the floor and each mode's costs (intervals +-50%).
pub fn comparison(rate: f64, costs: &[ModeCost]) -> Comparison {
    let floor = ModeComparison {
        mode: "none".into(),
        rounds: 10,
        requests: (rate * 10.0) as u64,
        latency_us: Quantiles {
            p50: Some(est(300.0, 20.0)),
            p90: Some(est(500.0, 40.0)),
            p99: Some(est(900.0, 200.0)),
        },
        cpu_us_per_request: Some(est(16.0, 1.0)),
        ..Default::default()
    };
    let mut modes = vec![floor];
    for &(mode, p50, p99, cpu) in costs {
        modes.push(ModeComparison {
            mode: mode.into(),
            rounds: 10,
            requests: (rate * 10.0) as u64,
            latency_us: Quantiles {
                p50: Some(est(300.0 + p50, 20.0)),
                p90: None,
                p99: Some(est(900.0 + p99, 200.0)),
            },
            cost_us: Some(Quantiles {
                p50: Some(est(p50, p50.abs() * 0.5)),
                p90: None,
                p99: Some(est(p99, p99.abs() * 0.5)),
            }),
            cpu_us_per_request: Some(est(cpu, cpu * 0.1)),
            cpu_cost_us_per_request: Some(est(cpu - 16.0, 1.5)),
            ..Default::default()
        });
    }
    let model_checks = ["tokenreviews", "subjectaccessreviews"]
        .into_iter()
        .map(|api| ModelCheck {
            mode: "cached".into(),
            api: api.into(),
            ttl_secs: Some(5.0),
            requests: (rate * 10.0) as u64,
            predicted: 20,
            measured: Some(21),
            agrees: Some(true),
        })
        .collect();
    Comparison {
        id: format!("steady/{rate}"),
        offered_rps: rate,
        floor: "none".into(),
        slot_secs: 1.0,
        rounds: 10,
        order: Vec::new(),
        method: "interleaved slots, cluster bootstrap over rounds".into(),
        modes,
        model_checks,
        generator: GeneratorLimit::default(),
        slots: slots(costs, rate),
        notes: Vec::new(),
    }
}

/// The floor's slot p99 in round `round` of the fixtures.
fn floor_p99(round: u64) -> f64 {
    900.0 + round as f64 * 30.0
}

/// Ten rounds of slots: the floor, and each mode `p99` above it with differences of 0.5, 0.75,
/// 1, 1.25 and 1.5 times its cost (two rounds each), so the round-paired estimate is the cost
/// with an interval of +-50%, like the pooled one.
fn slots(costs: &[ModeCost], rate: f64) -> Vec<SlotFigures> {
    let slot = |round, mode: &str, p99: f64| SlotFigures {
        round,
        mode: mode.into(),
        requests: (rate / 10.0).max(1.0) as u64,
        p50_us: 300,
        p99_us: p99.max(0.0).round() as u64,
        gateway_cpu_us_per_request: None,
    };
    let mut out: Vec<SlotFigures> = (0..10).map(|r| slot(r, "none", floor_p99(r))).collect();
    for &(mode, _, p99, _) in costs {
        for r in 0..10u64 {
            let factor = 0.5 + 0.25 * (r % 5) as f64;
            out.push(slot(r, mode, floor_p99(r) + p99 * factor));
        }
    }
    out
}

/// The comparison at `rate` of a results file, for nudging a figure onto a threshold.
pub fn comparison_mut(results: &mut Results, rate: f64) -> &mut Comparison {
    results
        .comparisons
        .iter_mut()
        .find(|c| c.offered_rps == rate)
        .unwrap_or_else(|| panic!("no comparison at {rate}"))
}

/// Sets a mode's p99 cost at `rate` to `value` with interval [lo, hi].
pub fn set_p99_cost(results: &mut Results, rate: f64, mode: &str, lo: f64, value: f64, hi: f64) {
    let m = comparison_mut(results, rate)
        .modes
        .iter_mut()
        .find(|m| m.mode == mode)
        .unwrap_or_else(|| panic!("no {mode} at {rate}"));
    m.cost_us.as_mut().unwrap().p99 = Some(Estimate {
        value,
        lo,
        hi,
        n: 10,
    });
    // The round-paired estimate (what the verdict reads): sorted differences whose second
    // lowest is `lo`, second highest `hi` and median `value`.
    let diffs = [lo, lo, value, value, value, value, value, value, hi, hi];
    let c = comparison_mut(results, rate);
    c.slots.retain(|s| s.mode != mode);
    for (round, d) in diffs.into_iter().enumerate() {
        c.slots.push(SlotFigures {
            round: round as u64,
            mode: mode.into(),
            requests: 100,
            p50_us: 300,
            p99_us: (floor_p99(round as u64) + d).max(0.0).round() as u64,
            gateway_cpu_us_per_request: None,
        });
    }
}

/// The run with this id, for nudging a value onto a threshold.
pub fn run_mut<'a>(results: &'a mut Results, id: &str) -> &'a mut RunRecord {
    results
        .runs
        .iter_mut()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no run {id}"))
}
