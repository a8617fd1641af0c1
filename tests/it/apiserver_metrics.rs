//! `/metrics` counts exactly the API calls made, by verb, resource, subresource and code.

use crate::apiserver_common as common;

use gatebench::apiserver::FaultConfig;
use gatebench::kubesetup;
use gatebench::promtext::Scrape;

const REQUESTS: &str = "apiserver_request_total";

async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(&text).unwrap()
}

#[tokio::test]
async fn counters_equal_the_calls_made() {
    let (server, client) = common::start_default().await;
    let ca = reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let before = scrape(&http, server.url()).await;
    assert_eq!(
        before.sum(REQUESTS, &[]),
        0.0,
        "a fresh server has served no API requests"
    );

    kubesetup::ensure_namespace(&client, "demo").await.unwrap(); // create 201
    kubesetup::ensure_namespace(&client, "demo").await.unwrap(); // create 409 + get 200
    kubesetup::ensure_service_account(&client, "demo", "sa")
        .await
        .unwrap(); // create 201
    let token = kubesetup::request_token(&client, "demo", "sa", &[], 600)
        .await
        .unwrap(); // token 201
    for _ in 0..7 {
        common::token_review(&client, &token, &[]).await;
    }
    for _ in 0..3 {
        common::sar(
            &client,
            "u",
            &[],
            common::resource_attributes("get", "pods", "demo", "p"),
        )
        .await;
    }
    // An unauthenticated review (401) and a throttled one (429) are counted with their codes.
    let unauthenticated = http
        .post(format!(
            "{}/apis/authentication.k8s.io/v1/tokenreviews",
            server.url()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    server.set_faults(FaultConfig {
        max_inflight: Some(0),
        ..Default::default()
    });
    let throttled = http
        .post(format!(
            "{}/apis/authentication.k8s.io/v1/tokenreviews",
            server.url()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status().as_u16(), 429);
    server.set_faults(FaultConfig::default());

    // Scrapes and admin calls are not API calls.
    let admin = http
        .get(format!("{}/gatebench/v1/faults", server.url()))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status().as_u16(), 200);
    scrape(&http, server.url()).await;
    let after = scrape(&http, server.url()).await;

    let count = |verb: &str, resource: &str, subresource: &str, code: &str| {
        after.sum(
            REQUESTS,
            &[
                ("verb", verb),
                ("resource", resource),
                ("subresource", subresource),
                ("code", code),
            ],
        )
    };
    assert_eq!(count("POST", "namespaces", "", "201"), 1.0);
    assert_eq!(count("POST", "namespaces", "", "409"), 1.0);
    assert_eq!(count("GET", "namespaces", "", "200"), 1.0);
    assert_eq!(count("POST", "serviceaccounts", "", "201"), 1.0);
    assert_eq!(count("POST", "serviceaccounts", "token", "201"), 1.0);
    assert_eq!(count("POST", "tokenreviews", "", "201"), 7.0);
    assert_eq!(count("POST", "tokenreviews", "", "401"), 1.0);
    assert_eq!(count("POST", "tokenreviews", "", "429"), 1.0);
    assert_eq!(count("POST", "subjectaccessreviews", "", "201"), 3.0);
    assert_eq!(
        after.sum(REQUESTS, &[]),
        17.0,
        "no other requests were counted"
    );
    let histogram_count = after.sum(
        "apiserver_request_duration_seconds_count",
        &[("resource", "tokenreviews")],
    );
    assert_eq!(histogram_count, 9.0);
    server.shutdown().await;
}
