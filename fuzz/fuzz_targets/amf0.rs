#![no_main]
//! See nova_fuzz_harness::amf0 for what the input is.

libfuzzer_sys::fuzz_target!(|data: &[u8]| nova_fuzz_harness::amf0(data));
