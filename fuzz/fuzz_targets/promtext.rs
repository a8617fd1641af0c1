//! The Prometheus text reader: never panics on any input; what it accepts has named samples.
#![no_main]

use gatebench::promtext::Scrape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scrape) = Scrape::parse(text) {
        for sample in &scrape.samples {
            assert!(!sample.name.is_empty());
        }
    }
});
