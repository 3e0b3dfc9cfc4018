//! Ring layout validation, and the queues over accepted layouts.
//! The harness and what it checks: `hiver_sys::uring::harness::layout`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hiver_sys::uring::harness::layout(data));
