//! Each loadtest scenario once, briefly, against the real `gatebench apiserver` and
//! `gatebench gateway` processes: the summary has its fields with plausible, checked values.

use crate::loadtest_support;

use loadtest_support::{Cluster, assert_common, loadtest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_cached_counts_one_tokenreview_per_identity() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway("cached", &[]).await;
    let kc = cluster.kubeconfig.display().to_string();
    let s = loadtest(
        "steady",
        &gw,
        &[
            "--rate",
            "50",
            "--duration",
            "2",
            "--identities",
            "3",
            "--kubeconfig",
            &kc,
            // Idempotent on top of the cluster's own set-up; exercises the flag.
            "--setup-rbac",
        ],
    )
    .await;
    assert_common(&s);
    assert_eq!(s.latency_us.count, 100);
    assert_eq!(
        s.status_counts.get("201"),
        Some(&100),
        "{:?}",
        s.status_counts
    );
    assert_eq!(
        s.server.apiserver_calls.get("tokenreviews"),
        Some(&3),
        "{:?}",
        s.server.apiserver_calls
    );
    assert_eq!(
        s.server.apiserver_calls.get("subjectaccessreviews"),
        Some(&3),
        "{:?}",
        s.server.apiserver_calls
    );
    let token = s.server.token_cache.expect("token cache counts");
    assert_eq!((token.hits, token.misses), (97, 3));
    assert!((s.offered_rps - 50.0).abs() < f64::EPSILON);
    assert!(s.achieved_rps > 40.0, "achieved {}", s.achieved_rps);
    assert!(s.service_time_us.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_burst_cached_coalesces_to_one_tokenreview_per_identity() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway("cached", &[]).await;
    let kc = cluster.kubeconfig.display().to_string();
    let s = loadtest(
        "cold-burst",
        &gw,
        &[
            "--concurrency",
            "40",
            "--identities",
            "4",
            "--kubeconfig",
            &kc,
        ],
    )
    .await;
    assert_common(&s);
    let burst = s.cold_burst.expect("cold_burst result");
    assert_eq!((burst.concurrency, burst.identities), (40, 4));
    assert_eq!(burst.tokenreviews, 4, "one TokenReview per identity");
    assert_eq!(burst.subjectaccessreviews, 4, "one SAR per identity");
    assert_eq!(burst.latency_us.count, 40);
    assert_eq!(
        s.status_counts.get("201"),
        Some(&40),
        "{:?}",
        s.status_counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_refuses_only_new_identities() {
    let cluster = Cluster::start().await;
    let gw = cluster
        .gateway("cached", &["--apiserver-timeout", "500ms"])
        .await;
    let kc = cluster.kubeconfig.display().to_string();
    let s = loadtest(
        "outage",
        &gw,
        &[
            "--rate",
            "40",
            "--duration",
            "4",
            "--identities",
            "2",
            "--kubeconfig",
            &kc,
            "--outage-at-secs",
            "1",
            "--outage-secs",
            "1.5",
        ],
    )
    .await;
    assert_common(&s);
    let o = s.outage.expect("outage result");
    assert!(o.known.requests >= 20 && o.new.requests >= 20, "{o:?}");
    assert_eq!(
        o.known.ok, o.known.requests,
        "cached identities keep working: {o:?}"
    );
    assert!(!o.known.codes.contains_key("503"), "{o:?}");
    // Requests are classed by intended send time; on a loaded machine one intended just
    // before the window's end may leave after it and succeed.
    let refused = o.new.codes.get("503").copied().unwrap_or(0);
    assert!(
        refused * 10 >= o.new.requests * 9,
        "new identities get 503: {o:?}"
    );
    let recovery_ms = o
        .recovery_ms
        .expect("new identities recover after the window");
    assert!(recovery_ms < 3000, "recovered after {recovery_ms} ms");
    assert!(o.timeline.iter().any(|(_, ratio)| *ratio < 1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_by_serviceaccount_delete_is_refused_after_the_ttl() {
    let cluster = Cluster::start().await;
    let gw = cluster
        .gateway("cached", &["--token-cache-ttl", "1s"])
        .await;
    let kc = cluster.kubeconfig.display().to_string();
    let s = loadtest(
        "revocation",
        &gw,
        &[
            "--rate",
            "40",
            "--duration",
            "4",
            "--identities",
            "1",
            "--kubeconfig",
            &kc,
            "--revoke",
            "sa",
            "--revoke-after-secs",
            "1",
        ],
    )
    .await;
    assert_common(&s);
    let r = s.revocation.expect("revocation result");
    assert_eq!(r.method, "serviceaccount-delete");
    let delay_ms = r.delay_ms.expect("refused after revocation");
    assert!(
        delay_ms <= 2500,
        "refused {delay_ms} ms after revocation with a 1 s TTL"
    );
    assert!(r.observed_for_ms >= delay_ms);
    assert!(s.status_counts.get("401").copied().unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_finds_the_level_below_95_percent() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway("cached", &[]).await;
    let kc = cluster.kubeconfig.display().to_string();
    let s = loadtest(
        "churn",
        &gw,
        &[
            "--rate",
            "40",
            "--duration",
            "1.5",
            "--identities",
            "2",
            "--kubeconfig",
            &kc,
            "--churn-levels",
            "0,0.5",
        ],
    )
    .await;
    assert_common(&s);
    assert_eq!(s.churn.len(), 2);
    let (calm, churny) = (&s.churn[0], &s.churn[1]);
    assert_eq!(calm.tokenreviews, 0, "warm identities only: {calm:?}");
    assert!((calm.token_hit_ratio - 1.0).abs() < 1e-9);
    assert_eq!(churny.tokenreviews, churny.requests / 2, "{churny:?}");
    assert!((churny.token_hit_ratio - 0.5).abs() < 0.05, "{churny:?}");
    assert_eq!(s.churn_at_95, Some(0.5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturation_reports_steps_and_highest_held_rate() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway("none", &[]).await;
    let s = loadtest(
        "saturation",
        &gw,
        &[
            "--start-rate",
            "50",
            "--step-factor",
            "2",
            "--max-rate",
            "100",
            "--duration",
            "1",
            "--identities",
            "1",
            "--slo-p99-us",
            "1000000",
            "--min-step-samples",
            "100",
        ],
    )
    .await;
    assert_common(&s);
    assert_eq!(s.steps.len(), 2, "{:?}", s.steps);
    assert_eq!(
        s.steps[0].latency_us.count, 100,
        "the 50 RPS step lasts 2 s, long enough for 100 samples"
    );
    assert_eq!(s.steps[1].latency_us.count, 100, "1 s at 100 RPS");
    assert!(
        s.steps
            .iter()
            .all(|st| st.gateway_cpu_us_per_request.is_some())
    );
    assert!(
        s.steps.iter().all(|st| st.held && st.error_ratio == 0.0),
        "{:?}",
        s.steps
    );
    assert_eq!(s.max_held_rps, Some(100.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paired_rounds_alternate_gateways_and_check_the_api_call_model() {
    let cluster = Cluster::start().await;
    let none = cluster.gateway("none", &[]).await;
    // A 1 s token TTL, so the 3 rounds of 0.4 s slots see entries expire and refill.
    let ttl = ["--token-cache-ttl", "1s", "--sar-allowed-ttl", "1s"];
    let cached = cluster.gateway("cached", &ttl).await;
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let pairs = [none.pair("none"), cached.pair("cached")];
    let s = loadtest(
        "paired",
        &none,
        &[
            "--kubeconfig",
            &kubeconfig,
            "--identities",
            "3",
            "--rate",
            "100",
            "--rounds",
            "3",
            "--slot-secs",
            "0.4",
            "--pair",
            &pairs[0],
            "--pair",
            &pairs[1],
            "--model",
            "cached:tokenreviews:1",
            "--model",
            "cached:subjectaccessreviews:1",
        ],
    )
    .await;
    let paired = s.paired.as_ref().expect("paired result");
    let c = &paired.comparison;
    assert_eq!(c.rounds, 3);
    assert_eq!(
        c.order,
        [["none", "cached"], ["cached", "none"], ["none", "cached"]]
            .map(|r| r.map(String::from).to_vec())
            .to_vec(),
        "order rotates round by round"
    );
    for mode in ["none", "cached"] {
        let per_mode = &paired.per_mode[mode];
        assert_eq!(
            per_mode.latency_us.count, 120,
            "{mode}: 3 slots x 40 requests"
        );
        assert_eq!(per_mode.status_counts.get("201"), Some(&120), "{mode}");
        let m = c.mode(mode).unwrap();
        assert_eq!(m.requests, 120);
        assert!(m.cpu_us_per_request.is_some_and(|c| c.value > 0.0), "{m:?}");
    }
    let none_calls = &paired.per_mode["none"].server.apiserver_calls;
    assert_eq!(none_calls.get("tokenreviews"), None, "{none_calls:?}");
    let cost = c.mode("cached").unwrap().cost_us.as_ref().unwrap();
    assert!(cost.p50.is_some() && cost.p99.is_some());
    assert_eq!(c.model_checks.len(), 2, "{:?}", c.model_checks);
    for check in &c.model_checks {
        assert!(
            check.predicted >= 3,
            "entries expired and refilled: {check:?}"
        );
        assert_eq!(check.agrees, Some(true), "{check:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_cold_burst_queues_and_the_warm_burst_needs_no_api_calls() {
    let cluster = Cluster::start().await;
    let gw = cluster
        .gateway("cached", &["--kube-qps", "5", "--kube-burst", "2"])
        .await;
    let kc = cluster.kubeconfig.display().to_string();
    let s = loadtest(
        "throttle",
        &gw,
        &[
            "--concurrency",
            "30",
            "--identities",
            "3",
            "--kubeconfig",
            &kc,
        ],
    )
    .await;
    assert_common(&s);
    let t = s.throttle.expect("throttle result");
    assert_eq!(
        t.cold_apiserver_calls.get("tokenreviews"),
        Some(&3),
        "{t:?}"
    );
    assert_eq!(t.warm_apiserver_calls.get("tokenreviews"), None, "{t:?}");
    assert!(
        t.client_throttle_wait_secs > 0.0,
        "qps 5 / burst 2 makes requests wait: {t:?}"
    );
    assert!(t.cold_latency_us.p50 > t.warm_latency_us.p50, "{t:?}");
    assert_eq!(s.latency_us.count, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_mtls_new_connection_handshakes_every_request() {
    let cluster = Cluster::start().await;
    let pki = cluster.pki(2);
    let p = |f: &str| pki.join(f).display().to_string();
    let gw = cluster
        .gateway(
            "mtls",
            &[
                "--tls-cert",
                &p("server.pem"),
                "--tls-key",
                &p("server-key.pem"),
                "--client-ca",
                &p("ca.pem"),
            ],
        )
        .await;
    let pki_dir = pki.display().to_string();
    let ca = p("ca.pem");
    let s = loadtest(
        "handshake",
        &gw,
        &[
            "--rate",
            "30",
            "--duration",
            "1",
            "--identities",
            "2",
            "--pki-dir",
            &pki_dir,
            "--ca-cert",
            &ca,
            "--users",
            "2",
        ],
    )
    .await;
    assert_common(&s);
    let h = s.handshake.expect("handshake result");
    assert_eq!(h.credential, "client-certificate");
    assert_eq!(
        s.status_counts.get("201"),
        Some(&60),
        "{:?}",
        s.status_counts
    );
    assert!(
        h.keepalive_handshakes <= 4,
        "2 users x 2 identities at most: {h:?}"
    );
    assert!(h.new_connection_handshakes >= 30, "{h:?}");
    assert!(h.new_connection_latency_us.count == 30 && h.keepalive_latency_us.count == 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_by_crl_is_refused() {
    let cluster = Cluster::start().await;
    let pki = cluster.pki(1);
    let p = |f: &str| pki.join(f).display().to_string();
    let crl = cluster.dir.path().join("revoked.crl");
    gatebench::pki::write_crl(&pki, &[], &crl).unwrap();
    let crl = crl.display().to_string();
    let gw = cluster
        .gateway(
            "mtls",
            &[
                "--tls-cert",
                &p("server.pem"),
                "--tls-key",
                &p("server-key.pem"),
                "--client-ca",
                &p("ca.pem"),
                "--crl",
                &crl,
            ],
        )
        .await;
    let pki_dir = pki.display().to_string();
    let ca = p("ca.pem");
    let s = loadtest(
        "revocation",
        &gw,
        &[
            "--rate",
            "30",
            "--duration",
            "4",
            "--identities",
            "1",
            "--pki-dir",
            &pki_dir,
            "--ca-cert",
            &ca,
            "--revoke",
            "crl",
            "--crl-out",
            &crl,
            "--revoke-after-secs",
            "1",
            "--new-connection",
        ],
    )
    .await;
    assert_common(&s);
    let r = s.revocation.expect("revocation result");
    assert_eq!(r.method, "crl");
    let delay_ms = r.delay_ms.expect("revoked certificate refused");
    assert!(delay_ms < 3000, "CRL took {delay_ms} ms to bite");
    assert!(r.accepted_after_revocation < s.latency_us.count, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_fraction_shows_as_202s() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway("none", &[]).await;
    let s = loadtest(
        "steady",
        &gw,
        &[
            "--rate",
            "50",
            "--duration",
            "2",
            "--identities",
            "1",
            "--duplicate-fraction",
            "0.5",
        ],
    )
    .await;
    assert_common(&s);
    let dups = s.status_counts.get("202").copied().unwrap_or(0);
    let fresh = s.status_counts.get("201").copied().unwrap_or(0);
    assert_eq!(dups + fresh, 100, "{:?}", s.status_counts);
    assert!(
        (30..=70).contains(&dups),
        "{dups} duplicates of 100 at fraction 0.5"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_runs_never_send_each_others_alerts() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway("none", &[]).await;
    let args = ["--rate", "50", "--duration", "1", "--identities", "1"];
    let first = loadtest("steady", &gw, &args).await;
    let second = loadtest("steady", &gw, &args).await;
    for s in [&first, &second] {
        assert_eq!(
            s.status_counts.get("201"),
            Some(&52),
            "{:?}",
            s.status_counts
        );
    }
}
