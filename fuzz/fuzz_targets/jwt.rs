//! JWT header and claims parsing on both sides: the stand-in's token splitting and claim decoding,
//! the gateway's unverified `exp` read and jwks-mode verification. Never panics; nothing a fuzzer
//! can write without the private key is accepted.
#![no_main]

use std::sync::OnceLock;

use gatebench::apiserver::tokens::{decode_claims, split_token};
use gatebench::gateway::auth::jwks::{KeySet, parse_key_set, verify_local};
use gatebench::gateway::auth::unverified_exp;
use libfuzzer_sys::fuzz_target;

/// A P-256 public key whose private half exists nowhere.
const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid":"k1",
  "x":"NWoAMTffFV3ZvJ3t_n8CxxA5N8KT-w1elT-KwoNHbDY","y":"LXcxea9bGIE4HO527XzxmzWutVj_7Wsx1KkMBKKNBFY"}]}"#;
const ISS: &str = "https://issuer.test";

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| parse_key_set(JWKS).expect("static JWKS parses"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parts) = split_token(token) {
        assert!(token.starts_with(parts.signed));
        let _ = decode_claims(parts.payload_b64);
    }
    let _ = unverified_exp(token);
    let audiences = vec![ISS.to_string()];
    assert!(verify_local(keys(), ISS, &audiences, token).is_err());
});
