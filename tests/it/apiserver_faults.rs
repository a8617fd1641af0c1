//! Each injected fault observably happens: in-flight and QPS 429s, outages (503, hang, reset), latency, errors.

use crate::apiserver_common as common;

use std::time::{Duration, Instant};

use gatebench::apiserver::{ApiServer, FaultConfig, Latency, Outage, OutageKind};
use gatebench::kubesetup;

/// A raw HTTPS client trusting the stand-in's CA, plus a valid token to review.
struct Rig {
    server: ApiServer,
    http: reqwest::Client,
    token: String,
}

async fn rig() -> Rig {
    let (server, client) = common::start_default().await;
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    kubesetup::ensure_service_account(&client, "demo", "sa")
        .await
        .unwrap();
    let token = kubesetup::request_token(&client, "demo", "sa", &["gatebench".into()], 3600)
        .await
        .unwrap();
    let ca = reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    Rig {
        server,
        http,
        token,
    }
}

impl Rig {
    fn review(&self) -> reqwest::RequestBuilder {
        let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                      "spec": {"token": self.token, "audiences": ["gatebench"]}});
        self.http
            .post(format!(
                "{}/apis/authentication.k8s.io/v1/tokenreviews",
                self.server.url()
            ))
            .bearer_auth(self.server.admin_token())
            .json(&body)
    }

    async fn review_status(&self) -> u16 {
        self.review().send().await.unwrap().status().as_u16()
    }
}

#[tokio::test]
async fn inflight_cap_answers_429_with_retry_after() {
    let rig = rig().await;
    rig.server.set_faults(FaultConfig {
        latency: [("*".to_string(), Latency::Fixed { ms: 1000.0 })].into(),
        max_inflight: Some(2),
        ..Default::default()
    });
    let answers = futures::future::join_all((0..6).map(|_| rig.review().send())).await;
    let mut created = 0;
    let mut throttled = 0;
    for answer in answers {
        let answer = answer.unwrap();
        match answer.status().as_u16() {
            201 => created += 1,
            429 => {
                throttled += 1;
                assert_eq!(answer.headers()["retry-after"], "1");
                let body: serde_json::Value = answer.json().await.unwrap();
                assert_eq!(body["reason"], "TooManyRequests");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        created >= 2 && throttled >= 1,
        "created {created}, throttled {throttled}"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn qps_cap_limits_admitted_requests() {
    let rig = rig().await;
    rig.server.set_faults(FaultConfig {
        qps_cap: Some(5.0),
        ..Default::default()
    });
    let started = Instant::now();
    let mut created = 0;
    for _ in 0..30 {
        match rig.review_status().await {
            201 => created += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    // Burst of 5 plus 5/s refill over the elapsed time (+1 for rounding).
    let bound = 5.0 + 5.0 * started.elapsed().as_secs_f64() + 1.0;
    assert!(
        created >= 5 && f64::from(created) <= bound,
        "created {created}, bound {bound}"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn unavailable_outage_answers_503_then_recovers() {
    let rig = rig().await;
    let faults = FaultConfig {
        outage: Some(Outage {
            kind: OutageKind::Unavailable,
            duration_secs: Some(1.0),
        }),
        ..Default::default()
    };
    // Through the admin endpoint, as the harness does it.
    let url = format!("{}/gatebench/v1/faults", rig.server.url());
    let put = rig
        .http
        .put(&url)
        .bearer_auth(rig.server.admin_token())
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let got: FaultConfig = rig
        .http
        .get(&url)
        .bearer_auth(rig.server.admin_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, faults);
    assert_eq!(rig.review_status().await, 503);
    let recovered = common::eventually(Duration::from_secs(5), || async {
        rig.review_status().await == 201
    })
    .await;
    assert!(recovered, "still failing after the 1 s outage");
    // The admin endpoint is admin-only.
    assert_eq!(
        rig.http.get(&url).send().await.unwrap().status().as_u16(),
        401
    );
    let sa_token = rig.token.clone();
    assert_eq!(
        rig.http
            .get(&url)
            .bearer_auth(sa_token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn hang_outage_holds_requests_until_replaced() {
    let rig = rig().await;
    rig.server.set_faults(FaultConfig {
        outage: Some(Outage {
            kind: OutageKind::Hang,
            duration_secs: None,
        }),
        ..Default::default()
    });
    let timed_out = rig
        .review()
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(timed_out.is_timeout(), "{timed_out:?}");
    let started = Instant::now();
    let pending = tokio::spawn(rig.review().send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !pending.is_finished(),
        "a request completed during a hang outage"
    );
    rig.server.set_faults(FaultConfig::default());
    let answer = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 503);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(rig.review_status().await, 201);
    rig.server.shutdown().await;
}

#[tokio::test]
async fn reset_outage_drops_connections_without_an_answer() {
    let rig = rig().await;
    rig.server.set_faults(FaultConfig {
        outage: Some(Outage {
            kind: OutageKind::Reset,
            duration_secs: None,
        }),
        ..Default::default()
    });
    let error = rig
        .review()
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");
    rig.server.set_faults(FaultConfig::default());
    assert_eq!(rig.review_status().await, 201);
    rig.server.shutdown().await;
}

#[tokio::test]
async fn latency_stays_inside_the_configured_bounds() {
    let rig = rig().await;
    rig.server.set_faults(FaultConfig {
        latency: [(
            "tokenreviews".to_string(),
            Latency::Uniform {
                min_ms: 100.0,
                max_ms: 150.0,
            },
        )]
        .into(),
        ..Default::default()
    });
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(rig.review_status().await, 201);
        let elapsed = started.elapsed();
        // Lower bound exact; the upper bound leaves room for a busy shared machine.
        assert!(
            elapsed >= Duration::from_millis(100) && elapsed < Duration::from_millis(1000),
            "{elapsed:?}"
        );
    }
    rig.server.shutdown().await;
}

#[tokio::test]
async fn error_fraction_answers_500_for_that_share() {
    let rig = rig().await;
    rig.server.set_faults(FaultConfig {
        error_fraction: 1.0,
        ..Default::default()
    });
    assert_eq!(rig.review_status().await, 500);
    rig.server.set_faults(FaultConfig {
        error_fraction: 0.5,
        ..Default::default()
    });
    let mut errors = 0;
    for _ in 0..200 {
        match rig.review_status().await {
            500 => errors += 1,
            201 => {}
            other => panic!("unexpected {other}"),
        }
    }
    // Binomial(200, 0.5): 60..140 is more than 5 standard deviations either side.
    assert!((60..=140).contains(&errors), "{errors} of 200");
    rig.server.shutdown().await;
}
