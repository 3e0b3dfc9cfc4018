use std::os::fd::AsRawFd;

use hiver_sys::uring::{op, Ring};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

use super::{by_ud, complete, push_all, ring};

const ECANCELED: i32 = 125;
const ENOENT: i32 = 2;

fn silent_recv(r: &mut Ring, fd: i32, buf: &mut [u8], ud: u64) {
    // SAFETY: every caller keeps `buf` alive until this read's completion is reaped.
    unsafe {
        push_all(
            r,
            &[op::recv(fd, buf.as_mut_ptr(), buf.len(), 0).user_data(ud)],
        )
    };
    r.submit().unwrap();
    assert_eq!(
        r.cq().ready().unwrap(),
        0,
        "nothing was sent: the recv must be pending"
    );
}

#[test]
fn cancel_of_a_pending_read_is_ecanceled() {
    let mut r = ring(4);
    let (_a, b) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let mut buf = [0u8; 8];
    silent_recv(&mut r, b.as_raw_fd(), &mut buf, 1);
    // SAFETY: a cancel carries no pointer.
    unsafe { push_all(&mut r, &[op::async_cancel(1, 0).user_data(2)]) };
    let c = complete(&mut r, 2);
    assert_eq!(
        by_ud(&c, 1).result().unwrap_err().raw_os_error(),
        Some(ECANCELED)
    );
    assert_eq!(by_ud(&c, 2).result().unwrap(), 0);
    // SAFETY: a cancel carries no pointer.
    unsafe { push_all(&mut r, &[op::async_cancel(1, 0).user_data(3)]) };
    let again = complete(&mut r, 1)[0];
    assert_eq!(
        again.result().unwrap_err().raw_os_error(),
        Some(ENOENT),
        "nothing left to cancel"
    );
}

#[test]
fn cancel_by_fd_takes_every_op_on_it() {
    let mut r = ring(8);
    let (_a, b) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
    silent_recv(&mut r, b.as_raw_fd(), &mut x, 1);
    silent_recv(&mut r, b.as_raw_fd(), &mut y, 2);
    // SAFETY: a cancel carries no pointer.
    unsafe { push_all(&mut r, &[op::async_cancel_fd(b.as_raw_fd()).user_data(3)]) };
    let c = complete(&mut r, 3);
    assert_eq!(by_ud(&c, 3).result().unwrap(), 2, "two ops cancelled");
    for ud in [1, 2] {
        assert_eq!(
            by_ud(&c, ud).result().unwrap_err().raw_os_error(),
            Some(ECANCELED)
        );
    }
}
