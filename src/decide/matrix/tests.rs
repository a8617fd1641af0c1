use super::*;
use crate::decide::profile::Profile;
use crate::results::RunOutcome;

fn input(modes: &[Mode]) -> MatrixInput {
    MatrixInput {
        modes: modes.to_vec(),
        scenarios: Vec::new(),
        expected_rps: 100.0,
        growth_rps: 1000.0,
        slo_p99_us: 2000,
        paired: true,
        apiserver_token_cache_secs: 0.0,
    }
}

fn ids(plans: &[RunPlan]) -> Vec<&str> {
    plans.iter().map(|p| p.id.as_str()).collect()
}

#[test]
fn quick_covers_every_scenario_and_mode_within_five_minutes() {
    let spec = ProfileSpec::of(Profile::Quick);
    let plans = plan(&spec, &input(&gateway_modes()));
    for scenario in Scenario::ALL {
        assert!(
            plans.iter().any(|p| p.scenario == scenario),
            "{scenario:?} missing"
        );
    }
    for rate in ["100", "1000"] {
        let id = format!("steady/{rate}");
        let paired = plans
            .iter()
            .find(|p| p.id == id)
            .expect("paired steady run");
        assert_eq!(
            paired.modes,
            gateway_modes(),
            "every mode in one comparison"
        );
        assert!(paired.is_paired());
    }
    // Start-up of the stand-in and PKI takes ~15 s more.
    let secs = estimated_secs(&plans) + 15.0;
    assert!(secs <= 300.0, "{secs}");
}

#[test]
fn standard_takes_about_twenty_minutes() {
    let plans = plan(
        &ProfileSpec::of(Profile::Standard),
        &input(&gateway_modes()),
    );
    let minutes = estimated_secs(&plans) / 60.0;
    assert!((15.0..=25.0).contains(&minutes), "{minutes:.1} min");
}

#[test]
fn run_ids_are_unique() {
    for paired in [true, false] {
        let mut wanted = input(&gateway_modes());
        wanted.paired = paired;
        let plans = plan(&ProfileSpec::of(Profile::Standard), &wanted);
        let mut seen = ids(&plans);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), plans.len());
    }
}

#[test]
fn equal_expected_and_growth_rates_make_one_steady_run() {
    let mut same = input(&[Mode::None]);
    same.growth_rps = 100.0;
    assert_eq!(
        ids(&plan(&ProfileSpec::of(Profile::Tiny), &same)),
        ["steady/100"]
    );
}

#[test]
fn tiny_runs_paired_steady_only_and_always_with_the_floor() {
    let plans = plan(&ProfileSpec::of(Profile::Tiny), &input(&[Mode::Cached]));
    assert_eq!(ids(&plans), ["steady/100", "steady/1000"]);
    assert_eq!(plans[0].modes, [Mode::None, Mode::Cached]);
    assert_eq!(plans[0].load.scenario, Scenario::Paired);
}

#[test]
fn unpaired_steady_runs_one_mode_at_a_time() {
    let mut wanted = input(&[Mode::None, Mode::Cached]);
    wanted.paired = false;
    let plans = plan(&ProfileSpec::of(Profile::Tiny), &wanted);
    assert_eq!(
        ids(&plans),
        [
            "steady/none/100",
            "steady/cached/100",
            "steady/none/1000",
            "steady/cached/1000"
        ]
    );
    assert!(plans.iter().all(|p| !p.is_paired()));
}

#[test]
fn named_scenarios_run_even_on_tiny() {
    let mut wanted = input(&[Mode::Cached]);
    wanted.scenarios = vec![Scenario::Steady, Scenario::Outage];
    let plans = plan(&ProfileSpec::of(Profile::Tiny), &wanted);
    assert_eq!(ids(&plans), ["steady/100", "steady/1000", "outage/cached"]);
    assert!(plans[2].needs_stand_in);
}

#[test]
fn saturation_runs_the_floor_first() {
    let mut wanted = input(&gateway_modes());
    wanted.scenarios = vec![Scenario::Saturation];
    let plans = plan(&ProfileSpec::of(Profile::Quick), &wanted);
    assert_eq!(
        ids(&plans),
        ["saturation/none", "saturation/cached", "saturation/mtls"]
    );
}

#[test]
fn mtls_uses_certificates_and_a_crl_for_revocation() {
    use crate::decide::plan::Credentials;
    let plans = plan(&ProfileSpec::of(Profile::Quick), &input(&[Mode::Mtls]));
    let rev = plans.iter().find(|p| p.id == "revocation/mtls").unwrap();
    assert_eq!(rev.credentials(), Credentials::ClientCert);
    assert!(rev.needs_crl);
    assert!(rev.load.new_connection);
    let sa = plan(&ProfileSpec::of(Profile::Quick), &input(&[Mode::Cached]));
    let sa = sa.iter().find(|p| p.id == "revocation/cached").unwrap();
    assert!(!sa.load.new_connection);
}

#[test]
fn paired_comparisons_run_real_ttls_and_ttl_scenarios_the_profiles() {
    let spec = ProfileSpec::of(Profile::Quick);
    let plans = plan(&spec, &input(&gateway_modes()));
    for p in &plans {
        let expected = if p.is_paired() { 1.0 } else { spec.time_scale };
        assert_eq!(p.ttl_scale, expected, "{}", p.id);
    }
    // Every record states the scale its TTLs ran at, for the report's real-time projections.
    for p in plans
        .iter()
        .filter(|p| p.is_paired() || p.scenario == Scenario::Churn)
    {
        for record in crate::decide::runner::records_with(p, RunOutcome::Ok) {
            assert_eq!(
                record.params["ttl_time_scale"], p.ttl_scale,
                "{}",
                record.id
            );
        }
    }
}

#[test]
fn kube_rbac_proxy_runs_every_scenario_but_handshakes_in_real_time() {
    let spec = ProfileSpec::of(Profile::Quick);
    let plans = plan(&spec, &input(&[Mode::Cached, Mode::KubeRbacProxy]));
    let own: Vec<&RunPlan> = plans
        .iter()
        .filter(|p| !p.is_paired() && p.modes == [Mode::KubeRbacProxy])
        .collect();
    let scenarios: Vec<Scenario> = own.iter().map(|p| p.scenario).collect();
    for s in [
        Scenario::Saturation,
        Scenario::Churn,
        Scenario::ColdBurst,
        Scenario::Revocation,
        Scenario::Outage,
        Scenario::Throttle,
    ] {
        assert!(scenarios.contains(&s), "{s:?} missing: {scenarios:?}");
    }
    // Its TTLs are compiled in: its runs are in real time and say so; the cached mode's
    // scenario runs keep the profile's scale.
    for p in &own {
        assert_eq!(p.ttl_scale, 1.0, "{}", p.id);
        assert!(p.params.contains_key("ttls"), "{}", p.id);
    }
    let cached_churn = plans
        .iter()
        .find(|p| p.id.starts_with("churn/cached"))
        .unwrap();
    assert_eq!(cached_churn.ttl_scale, spec.time_scale);
    // Revocation watches past its 2-minute token cache.
    let rev = own
        .iter()
        .find(|p| p.scenario == Scenario::Revocation)
        .unwrap();
    assert!(rev.duration_secs > 120.0, "{}", rev.duration_secs);
    let qps = own
        .iter()
        .find(|p| p.id.contains("client-qps"))
        .expect("the client-QPS throttle run");
    assert_eq!(qps.client_qps, Some((50, 100)));
}

#[test]
fn revocation_watches_past_a_real_api_servers_own_token_cache() {
    let spec = ProfileSpec::of(Profile::Quick);
    let id = |plans: &[RunPlan], id: &str| plans.iter().find(|p| p.id == id).unwrap().duration_secs;
    let stand_in = plan(&spec, &input(&[Mode::Cached, Mode::Mtls]));
    let mut real = input(&[Mode::Cached, Mode::Mtls]);
    real.apiserver_token_cache_secs = 10.0;
    let real = plan(&spec, &real);
    let extra = id(&real, "revocation/cached") - id(&stand_in, "revocation/cached");
    assert!(extra >= 10.0, "{extra}");
    // A CRL never asks the API server.
    assert_eq!(
        id(&real, "revocation/mtls"),
        id(&stand_in, "revocation/mtls")
    );
}
