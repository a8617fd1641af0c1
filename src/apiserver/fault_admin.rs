//! The client side of the stand-in's fault admin endpoint (`PUT /gatebench/v1/faults`), used by
//! the load generator to start outages mid-run and by decide to reset faults after a run.

/// The admin endpoint's path on the stand-in.
pub const FAULTS_PATH: &str = "/gatebench/v1/faults";

#[derive(Debug, thiserror::Error)]
#[error("setting stand-in faults {faults}: {source}")]
pub struct Error {
    faults: String,
    #[source]
    source: kube::Error,
}

/// Replaces the stand-in's whole fault configuration (`{}` clears every fault).
pub async fn put_faults(client: &kube::Client, faults: &serde_json::Value) -> Result<(), Error> {
    let request = http::Request::put(FAULTS_PATH)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(faults).expect("a JSON value serializes"))
        .expect("static request is valid");
    client
        .request_text(request)
        .await
        .map(|_| ())
        .map_err(|source| Error {
            faults: faults.to_string(),
            source,
        })
}
