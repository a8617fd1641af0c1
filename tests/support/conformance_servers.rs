//! Conformance harness: the stand-in and a real kube-apiserver, each started once per test binary as a
//! child process (lazily, shared by every conformance test; tests use their own namespaces), and a
//! raw-JSON client for either, so every conformance test runs the same requests against both.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// kube-apiserver starts in ~10-20 s on 2 busy cores; the stand-in in well under a second.
const START_TIMEOUT: Duration = Duration::from_secs(240);
/// Parent-death signal for the shared servers: they outlive every test, not the test binary.
const SETPRIV: &str = "/usr/bin/setpriv";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    StandIn,
    KubeApiserver,
}

/// What a started server told us, kept for the whole test binary.
struct Shared {
    url: String,
    ca_pem: String,
    admin_token: String,
    signing_key_pem: String,
}

static STAND_IN: OnceLock<Result<Shared, String>> = OnceLock::new();
static KUBE_APISERVER: OnceLock<Result<Shared, String>> = OnceLock::new();

/// One test's handle on a shared server.
pub struct Server {
    pub kind: Kind,
    pub http: reqwest::Client,
    shared: &'static Shared,
}

impl Server {
    /// The shared server of `kind`, started on first use. A real server whose binaries are missing
    /// fails the test with the supervisor's message (it names `scripts/install-kube-apiserver.sh`).
    pub async fn connect(kind: Kind) -> Server {
        let cell = match kind {
            Kind::StandIn => &STAND_IN,
            Kind::KubeApiserver => &KUBE_APISERVER,
        };
        let shared = tokio::task::spawn_blocking(move || cell.get_or_init(|| start(kind)))
            .await
            .unwrap();
        let shared = match shared {
            Ok(shared) => shared,
            Err(e) => panic!("cannot start the {kind:?} server for conformance tests: {e}"),
        };
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(shared.ca_pem.as_bytes()).unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Server { kind, http, shared }
    }

    pub fn url(&self) -> &str {
        &self.shared.url
    }
    pub fn admin_token(&self) -> &str {
        &self.shared.admin_token
    }

    /// An admin `kube::Client` for this server (the gateway's own client builder).
    pub async fn kube_client(&self) -> kube::Client {
        gatebench::tls::install_crypto_provider();
        let yaml = gatebench::apiserver::kubeconfig::render(
            self.url(),
            Some(&self.shared.ca_pem),
            self.admin_token(),
        )
        .unwrap();
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        gatebench::gateway::kube_client::build_client(config, Duration::from_secs(30)).unwrap()
    }

    /// Sends `method path` with `token` (None = anonymous) and `body`; returns the status and JSON.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(
            reqwest::Method::POST,
            path,
            Some(self.admin_token()),
            Some(&body),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(self.admin_token()), None)
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(
            reqwest::Method::DELETE,
            path,
            Some(self.admin_token()),
            None,
        )
        .await
    }

    /// Creates a namespace with a unique name starting with `prefix`.
    pub async fn namespace(&self, prefix: &str) -> String {
        let name = format!(
            "{prefix}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let (status, body) = self
            .post(
                "/api/v1/namespaces",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        name
    }

    /// Creates a ServiceAccount; returns its uid.
    pub async fn service_account(&self, ns: &str, name: &str) -> String {
        let (status, body) = self
            .post(
                &format!("/api/v1/namespaces/{ns}/serviceaccounts"),
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["metadata"]["uid"].as_str().unwrap().to_string()
    }

    /// TokenRequest for `ns/sa`; returns the whole response.
    pub async fn token_request(&self, ns: &str, sa: &str, spec: Value) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token"),
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}),
        )
        .await
    }

    /// A token for `ns/sa` with the API server's default audience, valid an hour.
    pub async fn token(&self, ns: &str, sa: &str) -> String {
        let (status, body) = self
            .token_request(ns, sa, json!({"expirationSeconds": 3600}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["status"]["token"].as_str().unwrap().to_string()
    }

    /// TokenReview of `token` with `spec` merged in (e.g. `{"audiences": [...]}`).
    pub async fn token_review(&self, token: &str, extra_spec: Value) -> (StatusCode, Value) {
        let mut spec = json!({"token": token});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
            spec.extend(extra.clone());
        }
        self.post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}),
        )
        .await
    }

    /// SubjectAccessReview with `spec`; returns `status.allowed`.
    pub async fn allowed(&self, spec: Value) -> bool {
        let (status, body) = self.sar(spec).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["status"]["allowed"].as_bool().unwrap()
    }

    /// `allowed`, retried for a few seconds while it is false: kube-apiserver's RBAC
    /// authorizer reads informer caches, so a just-created binding takes effect a moment later.
    /// Use it for the positive checks after an RBAC write; they confirm the write is visible
    /// before the negative checks that follow.
    pub async fn allowed_eventually(&self, spec: Value) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            if self.allowed(spec.clone()).await {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn sar(&self, spec: Value) -> (StatusCode, Value) {
        self.post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}),
        )
        .await
    }

    /// Re-signs `token` with the server's own ServiceAccount key after `edit` changed its claims:
    /// how a test gets an expired token from a server that issues none shorter than 10 minutes.
    pub fn forge(&self, token: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut parts = token.split('.');
        let header: Value = decode_part(parts.next().unwrap());
        let mut claims: Value = decode_part(parts.next().unwrap());
        edit(&mut claims);
        let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        jwt_header.kid = header["kid"].as_str().map(str::to_string);
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(self.shared.signing_key_pem.as_bytes())
            .unwrap();
        jsonwebtoken::encode(&jwt_header, &claims, &key).unwrap()
    }
}

/// The claims (or header) of a JWT part.
pub fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub fn claims(token: &str) -> Value {
    decode_part(token.split('.').nth(1).unwrap())
}

/// Runs one async test body against both servers: `both!(name, body)` makes `name::stand_in` and
/// `name::kube_apiserver`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            use $crate::conformance_servers::{Kind, Server};
            #[tokio::test]
            async fn stand_in() {
                super::$body(Server::connect(Kind::StandIn).await).await
            }
            #[tokio::test]
            async fn kube_apiserver() {
                super::$body(Server::connect(Kind::KubeApiserver).await).await
            }
        }
    };
}

fn start(kind: Kind) -> Result<Shared, String> {
    let dir = std::env::temp_dir().join(format!(
        "gb-conformance-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let kubeconfig = dir.join("kubeconfig");
    let args: Vec<String> = match kind {
        Kind::StandIn => {
            let key = dir.join("sa.key");
            std::fs::write(&key, signing_key_pem()).map_err(|e| e.to_string())?;
            // kube-apiserver's minimum token lifetime, so both refuse the same requests.
            vec![
                "apiserver".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--min-token-expiration-secs".into(),
                "600".into(),
                "--service-account-signing-key-file".into(),
                key.display().to_string(),
            ]
        }
        Kind::KubeApiserver => vec!["kube-apiserver".into()],
    }
    .into_iter()
    .chain(["--kubeconfig-out".into(), kubeconfig.display().to_string()])
    .collect();
    let stderr_path = dir.join("stderr.log");
    let listening = spawn_until_listening(&args, &stderr_path)?;
    let yaml = std::fs::read_to_string(&kubeconfig).map_err(|e| e.to_string())?;
    let signing_key_pem = match kind {
        Kind::StandIn => std::fs::read_to_string(dir.join("sa.key")),
        Kind::KubeApiserver => std::fs::read_to_string(
            listening["service_account_signing_key"]
                .as_str()
                .unwrap_or_default(),
        ),
    }
    .map_err(|e| e.to_string())?;
    let shared = shared_from_kubeconfig(&yaml, signing_key_pem)?;
    // Everything needed is in memory; the servers keep their own files.
    let _ = std::fs::remove_dir_all(&dir);
    Ok(shared)
}

fn signing_key_pem() -> String {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

fn shared_from_kubeconfig(yaml: &str, signing_key_pem: String) -> Result<Shared, String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
    let field = |path: &[&str]| -> Result<String, String> {
        let mut node = &doc;
        for key in path {
            node = match key.parse::<usize>() {
                Ok(i) => &node[i],
                Err(_) => &node[*key],
            };
        }
        node.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("kubeconfig has no {}", path.join(".")))
    };
    let ca = field(&["clusters", "0", "cluster", "certificate-authority-data"])?;
    Ok(Shared {
        url: field(&["clusters", "0", "cluster", "server"])?,
        ca_pem: String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(ca)
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?,
        admin_token: field(&["users", "0", "user", "token"])?,
        signing_key_pem,
    })
}

/// Starts `gatebench ARGS` from a thread that lives as long as the test binary (the parent-death
/// signal fires when the spawning thread ends), and returns its listening line.
fn spawn_until_listening(args: &[String], stderr_path: &Path) -> Result<Value, String> {
    let program = PathBuf::from(env!("CARGO_BIN_EXE_gatebench"));
    let args = args.to_vec();
    let stderr_path = stderr_path.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel::<Result<Value, String>>();
    std::thread::spawn(move || {
        let stderr = match std::fs::File::create(&stderr_path) {
            Ok(f) => f,
            Err(e) => return tx.send(Err(e.to_string())).unwrap_or(()),
        };
        let mut cmd = if Path::new(SETPRIV).is_file() {
            let mut cmd = Command::new(SETPRIV);
            cmd.args(["--pdeathsig", "TERM", "--"]).arg(&program);
            cmd
        } else {
            Command::new(&program)
        };
        let spawned = cmd
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                return tx
                    .send(Err(format!("{}: {e}", program.display())))
                    .unwrap_or(());
            }
        };
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut sent = false;
        for line in lines.by_ref().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<Value>(&line)
                && value["event"] == "listening"
            {
                let _ = tx.send(Ok(value));
                sent = true;
                break;
            }
        }
        if !sent {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            let tail: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
                .take(6)
                .collect();
            let _ = tx.send(Err(format!(
                "`gatebench {}` exited ({status}): {}",
                args.join(" "),
                tail.join("\n")
            )));
            return;
        }
        // Drain stdout and keep this thread (and so the parent-death signal) alive until exit.
        for _ in lines {}
        let _ = child.wait();
        loop {
            std::thread::park();
        }
    });
    rx.recv_timeout(START_TIMEOUT).map_err(|e| {
        format!(
            "no listening line within {} s: {e}",
            START_TIMEOUT.as_secs()
        )
    })?
}
