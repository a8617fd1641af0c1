//! TokenReview throughput of the stand-in process (a measurement, not an assertion: run it by hand).
//!
//! `cargo build --release --bin gatebench && GATEBENCH_BIN=target/release/gatebench \
//!  cargo test --test apiserver_throughput -- --ignored --nocapture`
//! Knobs: GATEBENCH_TPUT_SECS (5), GATEBENCH_TPUT_CONNECTIONS (16), GATEBENCH_TPUT_TOKENS (100 distinct
//! tokens reviewed round-robin), GATEBENCH_TPUT_HTTP=1 for plain HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand against a release binary"]
async fn tokenreviews_per_second() {
    gatebench::tls::install_crypto_provider();
    let secs: u64 = env_or("GATEBENCH_TPUT_SECS", 5);
    let connections: usize = env_or("GATEBENCH_TPUT_CONNECTIONS", 16);
    let token_count: usize = env_or("GATEBENCH_TPUT_TOKENS", 100);
    let plain_http = std::env::var("GATEBENCH_TPUT_HTTP").is_ok_and(|v| v == "1");
    let bin = std::env::var("GATEBENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_gatebench").to_string());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig_path = dir.path().join("kubeconfig");
    let mut command = Command::new(&bin);
    command
        .args(["apiserver", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig_path);
    if plain_http {
        command.arg("--insecure-http");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = event["url"].as_str().unwrap().to_string();

    let kubeconfig = kube::config::Kubeconfig::read_from(&kubeconfig_path).unwrap();
    let admin_token = serde_yaml_ng::to_value(kubeconfig.auth_infos[0].auth_info.clone().unwrap())
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    gatebench::kubesetup::ensure_namespace(&client, "tput")
        .await
        .unwrap();
    gatebench::kubesetup::ensure_service_account(&client, "tput", "sa")
        .await
        .unwrap();
    let mut bodies = Vec::new();
    for _ in 0..token_count.max(1) {
        let audiences = ["gatebench".to_string()];
        let token = gatebench::kubesetup::request_token(&client, "tput", "sa", &audiences, 3600)
            .await
            .unwrap();
        let review = serde_json::json!({"apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview", "spec": {"token": token, "audiences": audiences}});
        bodies.push(bytes::Bytes::from(serde_json::to_vec(&review).unwrap()));
    }
    let bodies = Arc::new(bodies);

    let mut builder = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(connections);
    if let Some(data) = kubeconfig.clusters[0]
        .cluster
        .as_ref()
        .unwrap()
        .certificate_authority_data
        .clone()
    {
        use base64::Engine;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
    }
    let http = builder.build().unwrap();
    let review_url = format!("{url}/apis/authentication.k8s.io/v1/tokenreviews");
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            let (http, bodies, review_url, admin_token) = (
                http.clone(),
                bodies.clone(),
                review_url.clone(),
                admin_token.clone(),
            );
            let (ok, failed) = (ok.clone(), failed.clone());
            tokio::spawn(async move {
                // Disjoint starting points, so distinct tokens really are distinct reviews.
                let mut next = worker * bodies.len() / connections;
                while Instant::now() < deadline {
                    next = (next + 1) % bodies.len();
                    let answer = http
                        .post(&review_url)
                        .bearer_auth(&admin_token)
                        .header("content-type", "application/json")
                        .body(bodies[next].clone())
                        .send()
                        .await;
                    match answer {
                        Ok(answer) if answer.status().as_u16() == 201 => {
                            let text = answer.bytes().await.unwrap();
                            let authenticated = memchr_contains(&text, br#""authenticated":true"#);
                            if authenticated { &ok } else { &failed }
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "tokenreviews: {ok} authenticated in {elapsed:.2} s = {:.0}/s over {connections} keep-alive {} connections, {token_count} distinct tokens; {} failed",
        ok as f64 / elapsed,
        if plain_http { "HTTP/1.1" } else { "HTTPS/1.1" },
        failed.load(Ordering::Relaxed)
    );
    gatebench::fsutil::terminate(child.id());
    let _ = child.wait();
    assert_eq!(failed.load(Ordering::Relaxed), 0);
}

fn memchr_contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
