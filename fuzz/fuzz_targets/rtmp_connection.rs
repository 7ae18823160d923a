#![no_main]
//! See nova_fuzz_harness::rtmp_connection for what the input is.

use std::sync::Once;

static HOOK: Once = Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // After libFuzzer's own hook is in place (set before the first input).
    HOOK.call_once(nova_fuzz_harness::let_the_connection_catch_rml_rtmp_panics);
    nova_fuzz_harness::rtmp_connection(data);
});
