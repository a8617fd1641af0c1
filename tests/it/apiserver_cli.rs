//! `gatebench apiserver` as a process: the listening line, the kubeconfig, start-up fault flags, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatebench::apiserver::{FaultConfig, Latency};

struct Server {
    child: Child,
    url: String,
    kubeconfig: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn spawn(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args(["apiserver", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let event: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(event["event"], "listening");
    assert_eq!(event["kubeconfig"], kubeconfig.display().to_string());
    let url = event["url"].as_str().unwrap().to_string();
    Server {
        child,
        url,
        kubeconfig,
        _dir: dir,
    }
}

fn terminate(mut server: Server) -> std::process::ExitStatus {
    let pid = server.child.id().to_string();
    assert!(gatebench::fsutil::terminate(server.child.id()), "pid {pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn process_writes_kubeconfig_applies_flags_and_exits_cleanly() {
    gatebench::tls::install_crypto_provider();
    let server = spawn(&[
        "--latency",
        "tokenreviews=uniform:5:10",
        "--max-inflight",
        "50",
        "--error-fraction",
        "0",
    ]);
    assert!(server.url.starts_with("https://127.0.0.1:"));
    let kubeconfig = kube::config::Kubeconfig::read_from(&server.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &Default::default())
        .await
        .unwrap();
    assert_eq!(
        config.cluster_url.to_string().trim_end_matches('/'),
        server.url
    );
    let client = kube::Client::try_from(config).unwrap();
    gatebench::kubesetup::ensure_namespace(&client, "cli")
        .await
        .unwrap();

    // The start-up faults are visible on the admin endpoint (admin token from the kubeconfig).
    let user = kubeconfig.auth_infos[0].auth_info.clone().unwrap();
    let token = secrecy_token(&user);
    let ca_pem = {
        use base64::Engine;
        let data = kubeconfig.clusters[0]
            .cluster
            .as_ref()
            .unwrap()
            .certificate_authority_data
            .clone()
            .unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap()
    };
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca_pem).unwrap())
        .build()
        .unwrap();
    let faults: FaultConfig = http
        .get(format!("{}/gatebench/v1/faults", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        faults.latency["tokenreviews"],
        Latency::Uniform {
            min_ms: 5.0,
            max_ms: 10.0
        }
    );
    assert_eq!(faults.max_inflight, Some(50));

    let status = terminate(server);
    assert!(status.success(), "{status:?}");
}

fn secrecy_token(user: &kube::config::AuthInfo) -> String {
    // The kubeconfig's token is a SecretString; its serialised form is the plain token.
    let yaml = serde_yaml_ng::to_value(user).unwrap();
    yaml["token"].as_str().unwrap().to_string()
}

#[test]
fn insecure_http_and_bad_flags() {
    let server = spawn(&["--insecure-http"]);
    assert!(server.url.starts_with("http://127.0.0.1:"));
    assert!(terminate(server).success());
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args([
            "apiserver",
            "--latency",
            "tokenreviews=gauss:1",
            "--kubeconfig-out",
        ])
        .arg(dir.path().join("kc"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}
