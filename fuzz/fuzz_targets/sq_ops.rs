//! The SQ producer against a hostile kernel, and the enter decision.
//! The harness and what it checks: `hiver_sys::uring::harness::sq_ops`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hiver_sys::uring::harness::sq_ops(data));
