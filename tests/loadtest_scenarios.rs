//! Each loadtest scenario once, briefly, against the real `gatebench apiserver` and
//! `gatebench gateway` processes: the summary has its fields with plausible, checked values.

mod loadtest_support;

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
        s.apiserver_calls.get("tokenreviews"),
        Some(&3),
        "{:?}",
        s.apiserver_calls
    );
    let token = s.token_cache.expect("token cache counts");
    assert_eq!((token.hits, token.misses), (97, 3));
    assert!((s.offered_rps - 50.0).abs() < f64::EPSILON);
    assert!(s.achieved_rps > 40.0, "achieved {}", s.achieved_rps);
    assert!(s.service_time_us.is_some());
}
