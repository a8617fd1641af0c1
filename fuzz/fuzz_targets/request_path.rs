//! The stand-in's request-path parser (kube's RequestInfo): never panics; a resource request always
//! names a resource and a verb.
#![no_main]

use gatebench::apiserver::RequestInfo;
use http::Method;
use libfuzzer_sys::fuzz_target;

const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let method = &METHODS[usize::from(*first) % METHODS.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (path, query) = match text.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (text, None),
    };
    let info = RequestInfo::parse(method, path, query);
    if info.is_resource {
        assert!(!info.resource.is_empty() && !info.verb.is_empty());
    }
    assert_eq!(info.path, path);
});
