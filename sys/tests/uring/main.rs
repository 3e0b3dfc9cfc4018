//! io_uring against the real kernel: one file per behaviour.
#![cfg(target_os = "linux")]
#![allow(unsafe_code)]

mod buf_ring;
mod cancel;
mod files;
mod msg_ring;
mod msg_ring_overflow;
mod multishot;
mod nop;
mod overflow;
mod registered;
mod rw;
mod timeout;

use std::time::{Duration, Instant};

use hiver_sys::uring::{Cqe, Ring, SetupOptions, Sqe};

/// A ring with the default options, or the test fails (io_uring must work on this machine).
pub fn ring(entries: u32) -> Ring {
    Ring::new(entries, &SetupOptions::default()).expect("io_uring must be available here")
}

/// Pushes SQEs that carry pointers the caller keeps alive until their completions.
///
/// # Safety
///
/// As `Ring::push`: the memory each SQE names outlives its completion.
pub unsafe fn push_all(ring: &mut Ring, sqes: &[Sqe]) {
    for sqe in sqes {
        // SAFETY: forwarded to the caller.
        unsafe { ring.push(sqe) }.expect("SQ has room");
    }
}

/// Submits, then collects exactly `n` completions; fails after 10 s instead of hanging.
pub fn complete(ring: &mut Ring, n: usize) -> Vec<Cqe> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    ring.submit().expect("submit");
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "timed out with {} of {n} completions: {out:?}",
            out.len()
        );
        let want = u32::try_from(n - out.len()).unwrap();
        ring.submit_and_wait_timeout(want, Duration::from_millis(100))
            .expect("wait");
        ring.reap(|c| out.push(c)).expect("reap");
    }
    assert_eq!(out.len(), n, "more completions than expected: {out:?}");
    out
}

/// The completion with `user_data`, which must be there exactly once.
pub fn by_ud(cqes: &[Cqe], ud: u64) -> Cqe {
    let hits: Vec<&Cqe> = cqes.iter().filter(|c| c.user_data == ud).collect();
    assert_eq!(hits.len(), 1, "user_data {ud} in {cqes:?}");
    *hits[0]
}
