#![no_main]
//! See nova_fuzz_harness::rtmp_connection for what the input is.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

static HOOK: Once = Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // After libFuzzer's panic hook and signal handlers are in place.
    HOOK.call_once(|| {
        nova_fuzz_harness::remember_panics_instead_of_aborting();
        nova_fuzz_harness::report_stack_overflows();
    });
    // Panics the connection catches are outcomes; one that escapes it is a
    // crash, as it would end the server's task.
    if catch_unwind(AssertUnwindSafe(|| nova_fuzz_harness::rtmp_connection(data))).is_err() {
        eprintln!(
            "a panic escaped the RTMP connection: {}",
            nova_fuzz_harness::last_panic()
        );
        std::process::abort();
    }
});
