//! The admin-only fault endpoint `GET/PUT /gatebench/v1/faults` (never subject to faults or metrics).

use crate::serve::RequestBody;
use http_body_util::{BodyExt, Limited};
use hyper::{Method, Request, StatusCode};

use super::auth::{ADMIN_USER, authenticate};
use crate::apiserver::faults::FaultConfig;
use crate::apiserver::state::State;
use crate::apiserver::status::{self, HttpResponse};

const MAX_FAULTS_BODY_BYTES: usize = 64 * 1024;

pub async fn handle(state: &State, request: Request<RequestBody>) -> HttpResponse {
    if request.uri().path() != "/gatebench/v1/faults" {
        return status::not_found_path();
    }
    let caller = match authenticate(state, request.headers()) {
        Ok(Some(caller)) => caller,
        Ok(None) => return status::unauthorized(),
        Err(response) => return *response,
    };
    if caller.user.name != ADMIN_USER {
        return status::forbidden_path(
            &caller.user.name,
            &request.method().as_str().to_ascii_lowercase(),
            request.uri().path(),
        );
    }
    match *request.method() {
        Method::GET => status::json_response(
            StatusCode::OK,
            &serde_json::to_value(state.faults.get()).unwrap_or_default(),
        ),
        Method::PUT => {
            let body = match Limited::new(request.into_body(), MAX_FAULTS_BODY_BYTES)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(_) => return status::bad_request("the fault config could not be read"),
            };
            match serde_json::from_slice::<FaultConfig>(&body) {
                Ok(config) => match config.validate() {
                    Err(reason) => status::bad_request(&format!("invalid fault config: {reason}")),
                    Ok(()) => {
                        tracing::info!(?config, "faults replaced");
                        state.faults.set(config);
                        status::json_response(
                            StatusCode::OK,
                            &serde_json::to_value(state.faults.get()).unwrap_or_default(),
                        )
                    }
                },
                Err(e) => status::bad_request(&format!("invalid fault config: {e}")),
            }
        }
        _ => status::method_not_allowed(),
    }
}
