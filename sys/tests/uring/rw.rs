use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};

use hiver_sys::uring::op::{self, MsgHdr};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

use super::{by_ud, complete, push_all, ring};

fn pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

#[test]
fn pipe_write_then_read() {
    let mut r = ring(8);
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let msg = b"through the ring";
    let mut buf = [0u8; 64];
    // SAFETY: `msg` and `buf` outlive the completions collected below.
    unsafe {
        push_all(
            &mut r,
            &[
                op::write(wr.as_raw_fd(), msg.as_ptr(), msg.len(), u64::MAX)
                    .user_data(1)
                    .link(),
                op::read(rd.as_raw_fd(), buf.as_mut_ptr(), buf.len(), u64::MAX).user_data(2),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(by_ud(&c, 1).result().unwrap() as usize, msg.len());
    let n = by_ud(&c, 2).result().unwrap() as usize;
    assert_eq!(&buf[..n], msg);
}

#[test]
fn socket_send_recv() {
    let mut r = ring(8);
    let (a, b) = pair();
    let mut buf = [0u8; 16];
    // SAFETY: `buf` outlives the completions; the send buffer is static.
    unsafe {
        push_all(
            &mut r,
            &[
                op::recv(b.as_raw_fd(), buf.as_mut_ptr(), buf.len(), 0).user_data(1),
                op::send(a.as_raw_fd(), b"ping".as_ptr(), 4, 0).user_data(2),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(by_ud(&c, 2).result().unwrap(), 4);
    assert_eq!(&buf[..by_ud(&c, 1).result().unwrap() as usize], b"ping");
}

#[test]
fn vectored_write_and_read() {
    let mut r = ring(8);
    let (a, b) = pair();
    let out = [IoSlice::new(b"hello, "), IoSlice::new(b"vectored")];
    let (mut x, mut y) = ([0u8; 5], [0u8; 10]);
    let mut ins = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
    // SAFETY: the iovec arrays and the buffers they name outlive the completions.
    unsafe {
        push_all(
            &mut r,
            &[
                op::writev(a.as_raw_fd(), out.as_ptr(), 2, u64::MAX)
                    .user_data(1)
                    .link(),
                op::readv(b.as_raw_fd(), ins.as_mut_ptr(), 2, u64::MAX).user_data(2),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(by_ud(&c, 1).result().unwrap(), 15);
    assert_eq!(by_ud(&c, 2).result().unwrap(), 15);
    assert_eq!((&x, &y), (b"hello", b", vectored"));
}

#[test]
fn sendmsg_recvmsg() {
    let mut r = ring(8);
    let (a, b) = pair();
    let mut data = *b"msghdr!";
    let mut out_iov = [IoSliceMut::new(&mut data)];
    let send_hdr = MsgHdr {
        iov: out_iov.as_mut_ptr().cast(),
        iovlen: 1,
        ..MsgHdr::default()
    };
    let mut inbuf = [0u8; 32];
    let mut in_iov = [IoSliceMut::new(&mut inbuf)];
    let mut recv_hdr = MsgHdr {
        iov: in_iov.as_mut_ptr().cast(),
        iovlen: 1,
        ..MsgHdr::default()
    };
    // SAFETY: both headers, their iovec arrays and buffers outlive the completions.
    unsafe {
        push_all(
            &mut r,
            &[
                op::sendmsg(a.as_raw_fd(), &send_hdr, 0).user_data(1).link(),
                op::recvmsg(b.as_raw_fd(), &mut recv_hdr, 0).user_data(2),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(by_ud(&c, 1).result().unwrap(), 7);
    assert_eq!(by_ud(&c, 2).result().unwrap(), 7);
    assert_eq!(&inbuf[..7], b"msghdr!");
}

#[test]
fn shutdown_then_close() {
    let mut r = ring(8);
    let (a, b) = pair();
    let mut buf = [0u8; 4];
    // SAFETY: `buf` outlives the completion.
    unsafe {
        push_all(
            &mut r,
            &[
                op::shutdown(a.as_raw_fd(), 1).user_data(1).link(),
                op::recv(b.as_raw_fd(), buf.as_mut_ptr(), 4, 0).user_data(2),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(by_ud(&c, 1).result().unwrap(), 0);
    assert_eq!(
        by_ud(&c, 2).result().unwrap(),
        0,
        "EOF after the peer's shutdown(SHUT_WR)"
    );
    let raw = a.into_raw_fd();
    // SAFETY: a CLOSE carries no pointer; `raw` is ours and nothing else uses it.
    unsafe { push_all(&mut r, &[op::close(raw).user_data(3)]) };
    assert_eq!(complete(&mut r, 1)[0].result().unwrap(), 0);
    // SAFETY: only asks the kernel about a number; EBADF proves the close happened.
    let probe = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
    assert_eq!(
        rustix::io::fcntl_getfd(probe).unwrap_err(),
        rustix::io::Errno::BADF
    );
}

#[test]
fn write_to_a_closed_peer_is_epipe_not_sigpipe() {
    let mut r = ring(4);
    let (a, b) = pair();
    drop(b);
    // SAFETY: the send buffer is static.
    unsafe {
        push_all(
            &mut r,
            &[op::send(a.as_raw_fd(), b"x".as_ptr(), 1, 0).user_data(1)],
        )
    };
    let e = complete(&mut r, 1)[0].result().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(32), "EPIPE, got {e}");
}
