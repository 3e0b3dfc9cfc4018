//! RELIABILITY.md case 16, the MSG_RING half (liburing `msg-ring-overflow.c`): 8 MSG_RING
//! messages posted into a ring whose CQ holds 4 all arrive, exactly once each. The runtime
//! wakes its workers with an eventfd, not MSG_RING, so the case is checked here, on the
//! raw ring: the 4 that do not fit wait in the kernel's overflow list (the target's SQ ring
//! says `IORING_SQ_CQ_OVERFLOW`) and come out when the target enters to reap.

use std::os::fd::AsRawFd;

use hiver_sys::uring::{op, sq_ring_flags};

use super::{complete, push_all, ring};

#[test]
fn eight_msg_rings_into_a_four_entry_cq_all_arrive() {
    let mut target = ring(2);
    assert_eq!(target.cq_entries(), 4, "the target's CQ holds 4");
    let mut sender = ring(8);
    let msgs: Vec<_> = (0..8u64)
        .map(|i| op::msg_ring(target.as_raw_fd(), 100 + i as u32, 0xa000 + i).user_data(i))
        .collect();
    // SAFETY: a MSG_RING carries no pointer; the target ring outlives the calls.
    unsafe { push_all(&mut sender, &msgs) };
    // Every message was delivered (res 0 on the sender's side), none refused.
    let sent = complete(&mut sender, 8);
    for c in &sent {
        assert_eq!(c.res, 0, "MSG_RING {} failed: {c:?}", c.user_data);
    }
    // The target has not entered yet: its CQ is full, the rest are held by the kernel.
    let ready = target.cq().ready().unwrap();
    let flags = target.sq().flags();
    println!(
        "target CQ: {ready} ready, SQ flags {flags:#x}, overflow counter {}",
        target.cq().overflow()
    );
    assert!(ready <= 4, "the CQ cannot hold more than 4: {ready}");
    if ready == 4 {
        assert_ne!(
            flags & sq_ring_flags::CQ_OVERFLOW,
            0,
            "a full CQ with 4 more posted: the kernel must flag its overflow list"
        );
    }
    assert_eq!(target.cq().overflow(), 0, "NODROP: nothing dropped");
    // Reaping (entering with GETEVENTS) flushes the backlog: all 8 arrive, once each.
    let got = complete(&mut target, 8);
    let mut seen: Vec<(u64, i32)> = got.iter().map(|c| (c.user_data, c.res)).collect();
    seen.sort_unstable();
    let want: Vec<(u64, i32)> = (0..8u64).map(|i| (0xa000 + i, 100 + i as i32)).collect();
    assert_eq!(seen, want, "every message exactly once, with its value");
    assert_eq!(target.sq().flags() & sq_ring_flags::CQ_OVERFLOW, 0);
    assert_eq!(target.cq().ready().unwrap(), 0, "nothing more");
}
