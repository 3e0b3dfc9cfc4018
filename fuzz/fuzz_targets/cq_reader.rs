//! The CQ consumer against an adversarial kernel.
//! The harness and what it checks: `hiver_sys::uring::harness::cq_reader`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hiver_sys::uring::harness::cq_reader(data));
