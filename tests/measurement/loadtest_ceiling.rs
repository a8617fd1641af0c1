//! Generator ceiling measurements (ignored: they take minutes and report figures, they do not
//! assert performance). Run in release, gateway pinned to CPU 0 and loadtest to CPU 1:
//! `cargo test --release --test loadtest_ceiling -- --ignored --nocapture --test-threads 1`

use crate::loadtest_support;

use loadtest_support::{Cluster, assert_common, loadtest_pinned};

const GATEWAY_CPU: Option<usize> = Some(0);
const GENERATOR_CPU: Option<usize> = Some(1);

fn show(label: &str, s: &gatebench::results::LoadSummary) {
    println!(
        "{label}: offered {:.0} achieved {:.0} rps, p50 {} us p99 {} us max {} us, generator {:.2} cores, send delay p99 {} us, limited {:?}, codes {:?}",
        s.offered_rps,
        s.achieved_rps,
        s.latency_us.p50,
        s.latency_us.p99,
        s.latency_us.max,
        s.generator.cpu_cores_used,
        s.generator.send_delay_p99_us,
        s.generator.reason,
        s.status_counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: minutes of load, release build"]
async fn steady_ceiling_against_none_mode() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway_pinned("none", &[], GATEWAY_CPU).await;
    for rate in ["1000", "2000", "3000", "4000", "6000", "8000"] {
        let s = loadtest_pinned(
            "steady",
            &gw,
            &["--rate", rate, "--duration", "8", "--identities", "1"],
            GENERATOR_CPU,
        )
        .await;
        assert_common(&s);
        show(&format!("none/{rate}"), &s);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: minutes of load, release build"]
async fn steady_1000_against_cached() {
    let cluster = Cluster::start().await;
    let gw = cluster.gateway_pinned("cached", &[], GATEWAY_CPU).await;
    let kc = cluster.kubeconfig.display().to_string();
    let s = loadtest_pinned(
        "steady",
        &gw,
        &[
            "--rate",
            "1000",
            "--duration",
            "15",
            "--identities",
            "10",
            "--kubeconfig",
            &kc,
        ],
        GENERATOR_CPU,
    )
    .await;
    assert_common(&s);
    show("cached/1000", &s);
    println!(
        "token cache {:?}, API calls {:?}",
        s.server.token_cache, s.server.apiserver_calls
    );
}
