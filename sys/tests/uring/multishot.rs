use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use hiver_sys::uring::op;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use super::{by_ud, complete, push_all, ring};

#[test]
fn multishot_accept_posts_one_cqe_per_connection() {
    let mut r = ring(8);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: a multishot accept without an address carries no pointer.
    unsafe {
        push_all(
            &mut r,
            &[op::accept_multishot(l.as_raw_fd(), 0).user_data(7)],
        )
    };
    r.submit().unwrap();
    let clients: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
        .collect();
    let c = complete(&mut r, 5);
    let mut fds = Vec::new();
    for cqe in &c {
        assert_eq!(cqe.user_data, 7);
        assert!(cqe.more(), "multishot accept stays armed: {cqe:?}");
        let fd = cqe.result().unwrap() as i32;
        // SAFETY: the kernel just created this fd for us; we own and close it.
        fds.push(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    }
    let peers: Vec<_> = fds
        .iter()
        .map(|fd| rustix::net::getpeername(fd).unwrap().unwrap())
        .collect();
    for client in &clients {
        let me = client.local_addr().unwrap();
        assert!(peers
            .iter()
            .any(|p| std::net::SocketAddr::try_from(p.clone()).unwrap() == me));
    }
    // Cancelling ends the multishot with a final CQE without MORE.
    // SAFETY: a cancel carries no pointer.
    unsafe { push_all(&mut r, &[op::async_cancel(7, 0).user_data(8)]) };
    let end = complete(&mut r, 2);
    assert!(!by_ud(&end, 7).more());
    assert_eq!(
        by_ud(&end, 7).result().unwrap_err().raw_os_error(),
        Some(125)
    );
}

#[test]
fn connect_and_single_accept() {
    let mut r = ring(8);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = rustix::net::SocketAddrAny::from(l.local_addr().unwrap());
    let s = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let mut peer = [0u8; 128];
    let mut peer_len = peer.len() as u32;
    // SAFETY: `addr`, `peer` and `peer_len` outlive the completions.
    unsafe {
        push_all(
            &mut r,
            &[
                op::connect(s.as_raw_fd(), addr.as_ptr().cast(), addr.addr_len()).user_data(1),
                op::accept(l.as_raw_fd(), peer.as_mut_ptr().cast(), &mut peer_len, 0).user_data(2),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(by_ud(&c, 1).result().unwrap(), 0);
    let fd = by_ud(&c, 2).result().unwrap() as i32;
    // SAFETY: the kernel created this fd for us; we own it now.
    let accepted = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    assert_eq!(peer_len, 16, "a sockaddr_in came back");
    let flags = rustix::io::fcntl_getfd(&accepted).unwrap();
    assert!(
        flags.contains(rustix::io::FdFlags::CLOEXEC),
        "accepted sockets are CLOEXEC"
    );
    // The port (network order, bytes 2..4) is the client's.
    let local = rustix::net::getsockname(&s).unwrap();
    let local = std::net::SocketAddr::try_from(local).unwrap();
    assert_eq!(u16::from_be_bytes([peer[2], peer[3]]), local.port());
}
