//! The API-server probe against both servers: counts add up, bursts are limited by the client limiter.

use gatebench::apiprobe::{ProbeConfig, measure};

use crate::both;
use crate::conformance_servers::Server;

async fn probe_measures_pairs_and_a_limited_burst(server: Server) {
    let client = server.kube_client().await;
    let config = ProbeConfig {
        sequential: 20,
        concurrency: 10,
        // 20 calls at burst 4 then 40/s: at least (20 - 4) / 40 = 0.4 s of limiter waits.
        client_limits: vec![(40.0, 4)],
    };
    let probe = measure::run(&client, "under test", &config).await.unwrap();
    assert_eq!(probe.server, "under test");
    assert_eq!(probe.sequential_pair_us.count, 20);
    assert_eq!(probe.sequential_tokenreview_us.count, 20);
    assert!(probe.sequential_tokenreview_us.p50 <= probe.sequential_pair_us.p50);
    assert!(probe.sequential_tokenreviews_per_sec > 0.0);
    let burst = &probe.bursts[0];
    assert_eq!((burst.errors, burst.latency_us.count), (0, 10));
    assert!(
        burst.wall_ms >= 400,
        "the limiter did not hold the burst back: {burst:?}"
    );
}
both!(
    apiprobe_pairs_and_burst,
    probe_measures_pairs_and_a_limited_burst
);
