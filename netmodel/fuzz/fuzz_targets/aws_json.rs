//! AWS describe-* JSON import never panics, whatever the bytes.
#![no_main]
use netmodel::import::aws::{import, SourceFile};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = import(&[SourceFile { path: "us-east-1/fuzz.json".into(), text: text.to_string() }]);
    }
});
