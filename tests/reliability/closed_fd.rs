//! Item 10, a socket's descriptor closed behind the runtime's back (`libc::close` on the
//! raw number, as a buggy library might). What is guaranteed (documented on `Runtime`):
//! operations started afterwards fail with `EBADF`, at once, with no undefined behaviour
//! and no hang, as long as the number has not been reused; dropping the owner then closes
//! the number once more. The test keeps the number from being reused by anyone else while
//! it checks: it puts a placeholder (`/dev/null`) on it with `dup2` before dropping the
//! stream, and checks that the drop closed exactly that placeholder. An operation already
//! in flight at the close is not woken by it (documented): it holds the socket open in the
//! kernel. On io_uring a listener's multishot accept, armed by its first `accept`, is such
//! an operation: the socket goes on listening, and a later `accept` gets the next
//! connection rather than `EBADF` (checked below); on epoll `accept` gives `EBADF`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{timeout, DriverType, Duration};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

/// An operation on a closed descriptor must fail at once, not wait.
const AT_ONCE: Duration = Duration::from_secs(5);

/// The socket address `get` (getsockname or getpeername) gives for `fd`, if any.
fn sock_addr(
    fd: RawFd,
    get: unsafe extern "C" fn(i32, *mut libc::sockaddr, *mut libc::socklen_t) -> i32,
) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is plain data, valid when zeroed.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss` and `len` are live and writable for the call; `len` gives ss's size.
    let rc = unsafe {
        get(
            fd,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc != 0 || i32::from(ss.ss_family) != libc::AF_INET {
        return None;
    }
    // SAFETY: the family is AF_INET, so the storage holds a sockaddr_in.
    let sin: libc::sockaddr_in = unsafe { *(&ss as *const libc::sockaddr_storage).cast() };
    let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
    Some(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
}

/// The descriptor of this process bound to `local` and connected to `peer` (`None`: a
/// listener, not connected).
fn fd_of(local: SocketAddr, peer: Option<SocketAddr>) -> RawFd {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let found: Vec<RawFd> = fds
        .into_iter()
        .filter(|&fd| {
            sock_addr(fd, libc::getsockname) == Some(local)
                && sock_addr(fd, libc::getpeername) == peer
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one descriptor for {local} -> {peer:?}: {found:?}"
    );
    found[0]
}

fn close_behind_its_back(fd: RawFd) {
    // SAFETY: closing a number is memory-safe; that the runtime still thinks it owns the
    // number is exactly the misuse this test studies.
    let rc = unsafe { libc::close(fd) };
    assert_eq!(rc, 0, "close({fd}): {}", io::Error::last_os_error());
}

/// Puts `/dev/null` on the number `fd` (free since the close), so that no one else gets
/// it and the owner's eventual close closes this placeholder.
fn hold_number(fd: RawFd) {
    use std::os::fd::{AsRawFd, IntoRawFd};
    let null = std::fs::File::open("/dev/null").unwrap();
    if null.as_raw_fd() == fd {
        // The lowest free number was that one: the placeholder is there already.
        let _ = null.into_raw_fd();
        return;
    }
    // SAFETY: dup2 onto a number nobody owns any more (we closed it); `null` stays ours.
    let rc = unsafe { libc::dup2(null.as_raw_fd(), fd) };
    assert_eq!(rc, fd, "dup2: {}", io::Error::last_os_error());
}

fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

fn is_ebadf(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EBADF)
}

#[test]
fn a_descriptor_closed_behind_the_runtimes_back_gives_ebadf() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        let numbers = rt
            .block_on(within("closed fd", async {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let addr = l.local_addr()?;
                let mut c = TcpStream::connect(addr).await?;
                let (mut s, _) = l.accept().await?;
                // Used once, so that the driver knows the socket (registration, ring ops).
                c.write_all(b"hi").await?;
                let mut b = [0u8; 2];
                s.read_exact(&mut b).await?;

                // The stream: nothing opens a descriptor between the close and the hold,
                // so the number stays free meanwhile.
                let cfd = fd_of(c.local_addr()?, Some(addr));
                close_behind_its_back(cfd);
                let mut buf = [0u8; 16];
                let e = timeout(AT_ONCE, c.read(&mut buf))
                    .await
                    .expect("read: no hang");
                let e = e.expect_err("read on a closed descriptor");
                assert!(is_ebadf(&e), "{driver}: read: {e}");
                let e = timeout(AT_ONCE, c.write(b"x"))
                    .await
                    .expect("write: no hang");
                let e = e.expect_err("write on a closed descriptor");
                assert!(is_ebadf(&e), "{driver}: write: {e}");
                hold_number(cfd);
                // The peer sees the connection end (the close was a real close).
                let n = s.read(&mut buf).await?;
                assert_eq!(n, 0, "{driver}: the peer reads end of stream");

                // The listener, whose first accept (above) ran.
                let lfd = fd_of(addr, None);
                close_behind_its_back(lfd);
                if driver == DriverType::IOUring {
                    // The multishot accept the first accept armed is in flight and holds
                    // the socket: the kernel keeps listening, and accept works.
                    hold_number(lfd); // before the connect below could take the number
                    let peer = std::net::TcpStream::connect(addr)?;
                    let (s2, from) = timeout(AT_ONCE, l.accept())
                        .await
                        .expect("accept: no hang")?;
                    assert_eq!(from, peer.local_addr()?, "{driver}: accepted the peer");
                    drop(s2);
                } else {
                    let e = timeout(AT_ONCE, l.accept()).await.expect("accept: no hang");
                    let e = e.expect_err("accept on a closed descriptor");
                    assert!(is_ebadf(&e), "{driver}: accept: {e}");
                    hold_number(lfd);
                }
                drop(c);
                drop(l);
                Ok::<_, io::Error>([cfd, lfd])
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        for fd in numbers {
            assert!(
                !is_open(fd),
                "{driver}: the owner's drop closed the placeholder on {fd}"
            );
        }
        assert_no_fd_leak(before, format_args!("{driver}: closed fd"));
    }
}
