//! Plan JSON parsing never panics, and what parses checks without panicking.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(plan) = netmodel::Plan::from_json(text) {
            let _ = netmodel::check(&plan, &netmodel::CheckOptions::default());
        }
    }
});
