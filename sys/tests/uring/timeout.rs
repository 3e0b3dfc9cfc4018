use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use hiver_sys::uring::{op, KernelTimespec};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

use super::{by_ud, complete, push_all, ring};

const ETIME: i32 = 62;
const ECANCELED: i32 = 125;

#[test]
fn timeout_op_fires() {
    let mut r = ring(4);
    let ts = KernelTimespec::from(Duration::from_millis(20));
    let start = Instant::now();
    // SAFETY: `ts` outlives the completion.
    unsafe { push_all(&mut r, &[op::timeout(&ts, 0, 0).user_data(9)]) };
    let c = complete(&mut r, 1)[0];
    assert_eq!(c.result().unwrap_err().raw_os_error(), Some(ETIME));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(20) && took < Duration::from_millis(200),
        "{took:?}"
    );
}

#[test]
fn timeout_with_count_completes_on_other_completions() {
    let mut r = ring(4);
    let ts = KernelTimespec::from(Duration::from_secs(30));
    // SAFETY: `ts` outlives the completions; NOPs carry no pointer.
    unsafe {
        push_all(
            &mut r,
            &[
                op::timeout(&ts, 2, 0).user_data(1),
                op::nop().user_data(2),
                op::nop().user_data(3),
            ],
        )
    };
    let c = complete(&mut r, 3);
    assert_eq!(by_ud(&c, 1).result().unwrap(), 0);
}

#[test]
fn link_timeout_cancels_a_silent_recv() {
    let mut r = ring(4);
    let (_a, b) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let mut buf = [0u8; 8];
    let ts = KernelTimespec::from(Duration::from_millis(30));
    // SAFETY: `buf` and `ts` outlive the completions.
    unsafe {
        push_all(
            &mut r,
            &[
                op::recv(b.as_raw_fd(), buf.as_mut_ptr(), 8, 0)
                    .user_data(1)
                    .link(),
                op::link_timeout(&ts, 0).user_data(2),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(
        by_ud(&c, 1).result().unwrap_err().raw_os_error(),
        Some(ECANCELED)
    );
    assert_eq!(
        by_ud(&c, 2).result().unwrap_err().raw_os_error(),
        Some(ETIME)
    );
}

#[test]
fn wait_with_timeout_returns_on_time_with_nothing_ready() {
    let mut r = ring(4);
    let start = Instant::now();
    r.submit_and_wait_timeout(1, Duration::from_millis(25))
        .unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(25) && took < Duration::from_millis(250),
        "{took:?}"
    );
    assert_eq!(r.cq().ready().unwrap(), 0);
}

#[test]
fn timeout_remove_cancels_a_timeout() {
    let mut r = ring(4);
    let ts = KernelTimespec::from(Duration::from_secs(30));
    // SAFETY: `ts` outlives the completions.
    unsafe { push_all(&mut r, &[op::timeout(&ts, 0, 0).user_data(1)]) };
    r.submit().unwrap();
    // SAFETY: a TIMEOUT_REMOVE carries no pointer.
    unsafe { push_all(&mut r, &[op::timeout_remove(1).user_data(2)]) };
    let c = complete(&mut r, 2);
    assert_eq!(
        by_ud(&c, 1).result().unwrap_err().raw_os_error(),
        Some(ECANCELED)
    );
    assert_eq!(by_ud(&c, 2).result().unwrap(), 0);
}
