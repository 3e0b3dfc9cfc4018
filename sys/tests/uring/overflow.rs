use std::collections::BTreeSet;

use hiver_sys::uring::{op, sq_ring_flags};

use super::ring;

#[test]
fn more_submissions_than_cq_entries_lose_nothing() {
    let mut r = ring(4); // CQ of 8
    let mut ud = 0u64;
    for _ in 0..4 {
        for _ in 0..4 {
            // SAFETY: a NOP carries no pointer.
            unsafe { r.push(&op::nop().user_data(ud)) }.unwrap();
            ud += 1;
        }
        assert_eq!(r.submit().unwrap(), 4);
    }
    assert_eq!(
        r.cq().ready().unwrap(),
        8,
        "the CQ holds 8, the rest waits in the kernel"
    );
    assert_ne!(
        r.sq().flags() & sq_ring_flags::CQ_OVERFLOW,
        0,
        "the kernel says it holds more"
    );
    assert_eq!(r.cq().overflow(), 0, "NODROP: nothing was dropped");
    let flushes = r.overflow_flushes();
    let mut seen = Vec::new();
    r.reap(|c| seen.push(c.user_data)).unwrap();
    assert!(
        r.overflow_flushes() > flushes,
        "the reap flushed the backlog and counted it"
    );
    seen.sort_unstable();
    assert_eq!(seen, (0..16).collect::<Vec<_>>());
    assert_eq!(r.sq().flags() & sq_ring_flags::CQ_OVERFLOW, 0);
}

#[test]
fn a_burst_of_ten_thousand_on_an_eight_entry_ring() {
    let mut r = ring(8);
    let mut seen = BTreeSet::new();
    let mut next = 0u64;
    while next < 10_000 {
        // SAFETY: a NOP carries no pointer.
        match unsafe { r.push(&op::nop().user_data(next)) } {
            Ok(()) => next += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                r.submit().unwrap();
                // Reap only now and then, so that the kernel's backlog grows.
                if next % 1000 < 8 {
                    r.reap(|c| assert!(seen.insert(c.user_data), "{} twice", c.user_data))
                        .unwrap();
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    r.submit().unwrap();
    while seen.len() < 10_000 {
        let before = seen.len();
        r.submit_and_wait_timeout(1, std::time::Duration::from_millis(100))
            .unwrap();
        r.reap(|c| assert!(seen.insert(c.user_data), "{} twice", c.user_data))
            .unwrap();
        assert!(seen.len() > before, "stalled at {before}");
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        (0..10_000).collect::<Vec<_>>()
    );
}
