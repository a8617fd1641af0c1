//! A scripted Kubernetes API on a real loopback socket, for answers the stand-in (being correct)
//! never gives: TokenReviews with foreign audiences, SARs both allowed and denied, JWKS of our keys.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use gatebench::serve::{self, Handler, HttpResponse, Peer, RequestBody, ResetConnection};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the fake answers, by path; and how often each path was called.
#[derive(Default)]
struct Script {
    answers: HashMap<String, Value>,
    calls: HashMap<String, u64>,
}

struct FakeHandler(Arc<Mutex<Script>>);

impl Handler for FakeHandler {
    type Conn = ();

    fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        None
    }

    fn connect(&self, _peer: &Peer) {}

    async fn call(
        &self,
        _conn: &(),
        request: Request<RequestBody>,
    ) -> Result<HttpResponse, ResetConnection> {
        let path = request.uri().path().to_string();
        let post = request.method() == http::Method::POST;
        let body = request
            .into_body()
            .collect()
            .await
            .map_err(|_| ResetConnection)?;
        let answer = {
            let mut script = self.0.lock().unwrap();
            *script.calls.entry(path.clone()).or_default() += 1;
            script.answers.get(&path).cloned()
        };
        let Some(answer) = answer else {
            return Ok(Response::builder()
                .status(404)
                .body(Full::new(Bytes::new()))
                .unwrap());
        };
        // Reviews echo the request with the scripted status, as the real API does.
        let out = if post {
            let mut echoed: Value = serde_json::from_slice(&body.to_bytes()).unwrap_or(json!({}));
            echoed["status"] = answer;
            echoed
        } else {
            answer
        };
        Ok(Response::builder()
            .status(if post { 201 } else { 200 })
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(out.to_string())))
            .unwrap())
    }
}

pub const TOKEN_REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
pub const SARS: &str = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

pub struct FakeKube {
    script: Arc<Mutex<Script>>,
    url: String,
    _stop: watch::Sender<bool>,
}

impl FakeKube {
    pub async fn start() -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script::default()));
        let (stop, mut rx) = watch::channel(false);
        let handler = Arc::new(FakeHandler(script.clone()));
        tokio::spawn(serve::run(
            listener,
            serve::Limits::default(),
            handler,
            async move {
                let _ = rx.wait_for(|s| *s).await;
            },
        ));
        FakeKube {
            script,
            url,
            _stop: stop,
        }
    }

    /// Answers `path` with `value` (a review's `status`, or a GET's whole body).
    pub fn answer(&self, path: &str, value: Value) {
        self.script
            .lock()
            .unwrap()
            .answers
            .insert(path.to_string(), value);
    }

    pub fn calls(&self, path: &str) -> u64 {
        self.script
            .lock()
            .unwrap()
            .calls
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn config(&self) -> kube::Config {
        kube::Config::new(self.url.parse().unwrap())
    }

    /// A TokenReview answer: authenticated as `user` for `audiences`.
    pub fn authenticated(user: &str, audiences: &[&str]) -> Value {
        json!({"authenticated": true, "audiences": audiences,
               "user": {"username": user, "uid": "uid-1", "groups": ["system:authenticated"]}})
    }
}
