//! The negative control: the fence does turn a late kernel write into `-EFAULT`. A raw
//! ring (no runtime) receives into a buffer that is freed, and so fenced, while the receive
//! waits in the kernel; the peer then writes and the CQE says `-EFAULT`. The same receive
//! into a buffer kept alive gets the bytes.
#![allow(unsafe_code)]

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use hiver_sys::uring::{op, Cqe, Ring, SetupOptions};

use crate::alloc;
use crate::support::serial;

fn wait_cqe(ring: &mut Ring) -> Cqe {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.is_empty() {
        assert!(Instant::now() < deadline, "no completion within 10 s");
        ring.submit_and_wait_timeout(1, Duration::from_millis(100))
            .expect("wait");
        ring.reap(|c| got.push(c)).expect("reap");
    }
    assert_eq!(got.len(), 1, "{got:?}");
    got[0]
}

/// Whether a completion is ready, without waiting.
fn ready(ring: &mut Ring) -> Vec<Cqe> {
    let mut got = Vec::new();
    ring.submit().expect("submit");
    ring.reap(|c| got.push(c)).expect("reap");
    got
}

#[test]
fn every_allocation_has_pages_of_its_own() {
    let a = Box::new(1u8);
    let b = Box::new(2u8);
    let (pa, pb) = (&*a as *const u8 as usize, &*b as *const u8 as usize);
    assert!(alloc::serves(pa) && alloc::serves(pb));
    assert_eq!(pa % 4096, 0, "page-aligned");
    assert_ne!(pa / 4096, pb / 4096, "two allocations share a page");
}

#[test]
fn the_fence_turns_a_late_kernel_write_into_efault() {
    let _serial = serial();
    let mut ring = Ring::new(8, &SetupOptions::default()).expect("io_uring must work here");
    let (ours, mut peer) = UnixStream::pair().expect("socketpair");
    let fd = ours.as_raw_fd();

    // A buffer kept until the completion gets the bytes.
    let mut kept = vec![0u8; 64];
    let sqe = op::recv(fd, kept.as_mut_ptr(), kept.len(), 0).user_data(1);
    // SAFETY: `kept` lives until the CQE below.
    unsafe { ring.push(&sqe) }.expect("push");
    assert!(ready(&mut ring).is_empty(), "nothing sent yet");
    peer.write_all(b"kept").expect("write");
    let c = wait_cqe(&mut ring);
    assert_eq!((c.user_data, c.res), (1, 4));
    assert_eq!(&kept[..4], b"kept");

    // A buffer freed (fenced) while its receive waits in the kernel.
    let mut doomed = vec![0u8; 64];
    let ptr = doomed.as_mut_ptr();
    assert!(alloc::serves(ptr as usize));
    let sqe = op::recv(fd, ptr, 64, 0).user_data(2);
    // SAFETY: deliberately broken: the buffer is freed before the CQE. The fence makes
    // its pages PROT_NONE and never reuses them, so the kernel's write cannot land in
    // live memory; it fails instead, which is what this test shows.
    unsafe { ring.push(&sqe) }.expect("push");
    assert!(ready(&mut ring).is_empty(), "nothing sent yet");
    drop(doomed);
    peer.write_all(b"late").expect("write");
    let c = wait_cqe(&mut ring);
    assert_eq!(
        (c.user_data, c.res),
        (2, -libc::EFAULT),
        "the fenced buffer must fail the receive with EFAULT"
    );
    eprintln!(
        "negative control: the late receive completed with {} (-EFAULT)",
        c.res
    );
}
