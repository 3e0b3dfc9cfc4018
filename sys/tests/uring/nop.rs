use hiver_sys::uring::{features, op, opcode, setup_flags, Ring, SetupOptions, MAX_ENTRIES};

use super::{complete, ring};

#[test]
fn nop_round_trip() {
    let mut r = ring(8);
    for round in 0..3u64 {
        for i in 0..8u64 {
            // SAFETY: a NOP carries no pointer.
            unsafe { r.push(&op::nop().user_data(round * 100 + i)) }.unwrap();
        }
        let mut got: Vec<u64> = complete(&mut r, 8).iter().map(|c| c.user_data).collect();
        got.sort_unstable();
        assert_eq!(got, (0..8).map(|i| round * 100 + i).collect::<Vec<_>>());
    }
    assert!(r.enter_count() >= 3);
}

#[test]
fn setup_reports_what_it_got() {
    let r = ring(8);
    assert_eq!(r.entries(), 8);
    assert_eq!(r.cq_entries(), 16);
    // This machine's kernel (6.18) takes the newest step of the ladder.
    let want = setup_flags::SINGLE_ISSUER | setup_flags::COOP_TASKRUN | setup_flags::SUBMIT_ALL;
    assert_eq!(r.setup_flags() & want, want, "flags {:#x}", r.setup_flags());
    assert_ne!(r.setup_flags() & setup_flags::NO_SQARRAY, 0);
    for f in [
        features::SINGLE_MMAP,
        features::NODROP,
        features::EXT_ARG,
        features::FAST_POLL,
    ] {
        assert_ne!(r.features() & f, 0, "feature {f:#x}");
    }
    let d = Ring::new(
        8,
        &SetupOptions::default()
            .defer_taskrun(true)
            .no_sqarray(false),
    )
    .unwrap();
    assert_ne!(d.setup_flags() & setup_flags::DEFER_TASKRUN, 0);
    assert_eq!(d.setup_flags() & setup_flags::NO_SQARRAY, 0);
    let c = Ring::new(4, &SetupOptions::default().cq_entries(100)).unwrap();
    assert_eq!(c.cq_entries(), 128);
}

#[test]
fn entries_are_rounded_and_clamped() {
    assert_eq!(ring(5).entries(), 8);
    let big = Ring::new(u32::MAX, &SetupOptions::default()).unwrap();
    assert_eq!(big.entries(), MAX_ENTRIES);
    let e = Ring::new(0, &SetupOptions::default()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("at least 1"), "{e}");
}

#[test]
fn probe_lists_what_the_runtime_needs() {
    let p = ring(4).probe().unwrap();
    let needed = [
        opcode::NOP,
        opcode::ACCEPT,
        opcode::CONNECT,
        opcode::RECV,
        opcode::SEND,
        opcode::READ,
        opcode::WRITE,
        opcode::CLOSE,
        opcode::TIMEOUT,
        opcode::LINK_TIMEOUT,
        opcode::ASYNC_CANCEL,
        opcode::POLL_ADD,
        opcode::MSG_RING,
        opcode::SHUTDOWN,
    ];
    assert_eq!(p.first_missing(&needed), None);
    // 6.18 knows opcodes past rustix's enum; reading them must not be a problem.
    assert!(p.last_op() >= opcode::SEND_ZC, "last_op {}", p.last_op());
    assert!(!p.is_supported(255));
}

#[test]
fn sqpoll_ring_completes_nops() {
    let mut r = Ring::new(
        4,
        &SetupOptions::default().sqpoll(std::time::Duration::from_millis(50)),
    )
    .unwrap();
    assert_ne!(r.setup_flags() & setup_flags::SQPOLL, 0);
    for i in 0..20u64 {
        // SAFETY: a NOP carries no pointer.
        unsafe { r.push(&op::nop().user_data(i)) }.unwrap();
        assert_eq!(complete(&mut r, 1)[0].user_data, i);
    }
}

#[test]
fn registered_ring_fd_enters() {
    let mut r = Ring::new(4, &SetupOptions::default().register_ring_fd(true)).unwrap();
    assert!(r.is_ring_fd_registered());
    // SAFETY: a NOP carries no pointer.
    unsafe { r.push(&op::nop().user_data(5)) }.unwrap();
    assert_eq!(complete(&mut r, 1)[0].user_data, 5);
}

#[test]
fn full_sq_is_would_block() {
    let mut r = ring(2);
    for _ in 0..2 {
        // SAFETY: a NOP carries no pointer.
        unsafe { r.push(&op::nop()) }.unwrap();
    }
    // SAFETY: a NOP carries no pointer.
    let e = unsafe { r.push(&op::nop()) }.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    assert_eq!(complete(&mut r, 2).len(), 2);
}
