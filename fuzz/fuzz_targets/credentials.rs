//! Bearer extraction from an `Authorization` header: never panics; a token it keeps is non-empty,
//! has no whitespace and is within the length limit.
#![no_main]

use gatebench::gateway::auth::RequestCredentials;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use libfuzzer_sys::fuzz_target;

const MAX_BYTES: usize = 64;

fuzz_target!(|value: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    let creds = RequestCredentials::from_headers(&headers, None, MAX_BYTES);
    if let Some(token) = &creds.bearer {
        assert!(!token.is_empty() && token.len() <= MAX_BYTES);
        assert!(!token.contains(char::is_whitespace));
        assert!(!creds.oversized && !creds.authorization_malformed);
    }
});
