//! The io_uring driver's completion handling against an adversarial kernel: arbitrary
//! user_data, results, flags and buffer ids, multishot streams, handles dropped midway.
//! The harness and what it checks: `hiver-runtime`'s `driver/uring/fuzz.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hiver_runtime::__fuzz::completions(data));
