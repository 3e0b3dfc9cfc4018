use std::os::fd::AsRawFd;
use std::time::Duration;

use hiver_sys::uring::{op, Ring, SetupOptions};

use super::{complete, push_all, ring};

#[test]
fn msg_ring_posts_on_the_target_ring() {
    let mut a = ring(4);
    let mut b = ring(4);
    // SAFETY: a MSG_RING carries no pointer; the target fd outlives the call.
    unsafe {
        push_all(
            &mut a,
            &[op::msg_ring(b.as_raw_fd(), 42, 0xfeed)
                .user_data(1)
                .skip_success()],
        )
    };
    a.submit().unwrap();
    let c = complete(&mut b, 1)[0];
    assert_eq!((c.user_data, c.res), (0xfeed, 42));
    a.submit_and_wait_timeout(0, Duration::ZERO).unwrap();
    assert_eq!(
        a.cq().ready().unwrap(),
        0,
        "CQE_SKIP_SUCCESS kept the sender's CQ empty"
    );
}

#[test]
fn msg_ring_wakes_a_blocked_defer_taskrun_waiter() {
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        // DEFER_TASKRUN binds the ring to the thread that makes it: make it on the waiter.
        let mut t = Ring::new(4, &SetupOptions::default().defer_taskrun(true)).unwrap();
        tx.send(t.as_raw_fd()).unwrap();
        t.submit_and_wait_timeout(1, Duration::from_secs(10))
            .unwrap();
        let mut got = Vec::new();
        t.reap(|c| got.push((c.user_data, c.res))).unwrap();
        got
    });
    let target_fd = rx.recv().unwrap();
    let mut sender = ring(4);
    // SAFETY: a MSG_RING carries no pointer; the waiter keeps its ring open until woken.
    unsafe { push_all(&mut sender, &[op::msg_ring(target_fd, 7, 99).user_data(1)]) };
    assert_eq!(complete(&mut sender, 1)[0].result().unwrap(), 0);
    assert_eq!(waiter.join().unwrap(), [(99, 7)]);
}

#[test]
fn multishot_poll_on_an_eventfd_fires_per_write() {
    let mut r = ring(4);
    let efd = rustix::event::eventfd(
        0,
        rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
    )
    .unwrap();
    // SAFETY: a poll carries no pointer.
    unsafe {
        push_all(
            &mut r,
            &[op::poll_add_multi(efd.as_raw_fd(), 1).user_data(5)],
        )
    };
    r.submit().unwrap();
    for _ in 0..3 {
        rustix::io::write(&efd, &1u64.to_ne_bytes()).unwrap();
        let c = complete(&mut r, 1)[0];
        assert_eq!(c.user_data, 5);
        assert!(c.more());
        let mut v = [0u8; 8];
        rustix::io::read(&efd, &mut v).unwrap();
    }
    // SAFETY: a poll-remove carries no pointer.
    unsafe { push_all(&mut r, &[op::poll_remove(5).user_data(6)]) };
    let end = complete(&mut r, 2);
    assert!(end.iter().all(|c| !c.more()));
}

#[test]
fn registered_eventfd_counts_completions() {
    let mut r = ring(4);
    let efd = rustix::event::eventfd(
        0,
        rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
    )
    .unwrap();
    r.register_eventfd(rustix::fd::AsFd::as_fd(&efd)).unwrap();
    // SAFETY: a NOP carries no pointer.
    unsafe { push_all(&mut r, &[op::nop()]) };
    complete(&mut r, 1);
    let mut v = [0u8; 8];
    rustix::io::read(&efd, &mut v).unwrap();
    assert!(u64::from_ne_bytes(v) >= 1);
    r.unregister_eventfd().unwrap();
    assert!(
        r.unregister_eventfd().is_err(),
        "nothing left to unregister"
    );
}
