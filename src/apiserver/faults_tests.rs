//! Unit tests of fault parsing, sampling and admission.

use super::*;

#[test]
fn parses_flag_forms() {
    assert_eq!(
        Latency::parse("fixed:5").unwrap(),
        Latency::Fixed { ms: 5.0 }
    );
    assert_eq!(
        Latency::parse("lognormal:60:100").unwrap(),
        Latency::Lognormal {
            p50_ms: 60.0,
            p99_ms: 100.0
        }
    );
    assert!(Latency::parse("uniform:9:1").is_err());
    assert!(Latency::parse("gauss:1").is_err());
    assert_eq!(
        Outage::parse("hang:30").unwrap(),
        Outage {
            kind: OutageKind::Hang,
            duration_secs: Some(30.0)
        }
    );
    assert_eq!(Outage::parse("reset").unwrap().duration_secs, None);
}

#[test]
fn lognormal_quantiles_follow_the_parameters() {
    let dist = Latency::Lognormal {
        p50_ms: 60.0,
        p99_ms: 100.0,
    };
    let mut rng = rand::rng();
    let mut samples: Vec<f64> = (0..20_000).map(|_| dist.sample_ms(&mut rng)).collect();
    samples.sort_by(f64::total_cmp);
    let p50 = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    assert!((55.0..65.0).contains(&p50), "p50 {p50}");
    assert!((90.0..110.0).contains(&p99), "p99 {p99}");
}

#[test]
fn json_shape_matches_the_contract() {
    let config: FaultConfig = serde_json::from_str(
        r#"{"latency":{"tokenreviews":{"kind":"lognormal","p50_ms":60,"p99_ms":100},"*":{"kind":"fixed","ms":1}},
            "max_inflight":null,"qps_cap":null,"outage":{"kind":"hang","duration_secs":null},"error_fraction":0.0}"#,
    )
    .unwrap();
    assert_eq!(config.latency["*"], Latency::Fixed { ms: 1.0 });
    assert_eq!(config.outage.unwrap().kind, OutageKind::Hang);
    assert_eq!(
        serde_json::from_str::<FaultConfig>("{}").unwrap(),
        FaultConfig::default()
    );
}

#[test]
fn inflight_cap_rejects_only_the_excess() {
    let faults = Faults::new(FaultConfig {
        max_inflight: Some(2),
        ..Default::default()
    });
    let (a, va) = faults.admit("x");
    let (b, vb) = faults.admit("x");
    let (_c, vc) = faults.admit("x");
    assert!(matches!(va, Verdict::Proceed { .. }) && matches!(vb, Verdict::Proceed { .. }));
    assert_eq!(vc, Verdict::TooManyRequests);
    drop((a, b, _c));
    assert!(matches!(faults.admit("x").1, Verdict::Proceed { .. }));
}

#[test]
fn qps_cap_allows_a_burst_then_rejects() {
    let faults = Faults::new(FaultConfig {
        qps_cap: Some(5.0),
        ..Default::default()
    });
    let admitted = (0..20)
        .filter(|_| matches!(faults.admit("x").1, Verdict::Proceed { .. }))
        .count();
    // Burst of 5 plus whatever refilled during the loop (microseconds).
    assert!((5..=6).contains(&admitted), "{admitted}");
}

#[test]
fn outage_ends_after_its_window() {
    let faults = Faults::new(FaultConfig {
        outage: Some(Outage {
            kind: OutageKind::Unavailable,
            duration_secs: Some(0.05),
        }),
        ..Default::default()
    });
    assert_eq!(faults.admit("x").1, Verdict::Unavailable);
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert!(matches!(faults.admit("x").1, Verdict::Proceed { .. }));
}
