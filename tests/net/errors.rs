//! Socket errors reach the caller as the right `io::ErrorKind`, on each driver: a peer's
//! reset while a read waits (and every write after it fails), a write to a peer that is
//! gone (an error, never a `SIGPIPE`), a connection refused, a connect to a full backlog
//! that a `timeout` cancels (its socket closed), and a name that does not resolve.
//!
//! The peers are blocking std sockets driven from the test's own task, so each event (the
//! reset, the close) happens at an exact point: after our read is waiting (run on a worker,
//! where `yield_now` makes the driver submit it), before our writes.

use std::io::ErrorKind;

use hiver_runtime::io::{TcpListener, TcpStream, UdpSocket};

use crate::support::{drivers, run, serial};
// The tests that need libc (SO_LINGER, SIGPIPE's disposition).
#[cfg(target_os = "linux")]
use {
    crate::support::{on_worker, pair_with_std, poll_once, yield_now},
    std::io,
    std::pin::pin,
};

/// `SO_LINGER` on with a zero timeout: closing `s` sends a reset, not a FIN.
#[cfg(target_os = "linux")]
fn set_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `s` owns the descriptor for the whole call; the pointer and length describe
    // `linger`, a live value the kernel only reads.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
}

#[cfg(target_os = "linux")]
#[test]
fn a_reset_while_a_read_waits_is_connection_reset() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "reset while reading",
            on_worker(async move {
                let (mut ours, peer) = pair_with_std().await?;
                set_linger_zero(&peer);
                let mut buf = [0u8; 64];
                {
                    let mut read = pin!(ours.read(&mut buf));
                    assert!(
                        poll_once(read.as_mut()).await.is_pending(),
                        "nothing was sent"
                    );
                    // The driver turns: the receive is in the kernel (io_uring), or the
                    // socket is registered for readiness (epoll).
                    yield_now().await;
                    assert!(poll_once(read.as_mut()).await.is_pending(), "still nothing");
                    drop(peer);
                    let err = read.await.expect_err("the peer reset the connection");
                    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{driver}: {err}");
                }
                // The connection is dead: the next write fails too (a reset socket has no
                // peer; it must not report the bytes as sent).
                let err = ours
                    .write(b"after the reset")
                    .await
                    .expect_err("a write after the reset");
                assert!(
                    is_gone(&err),
                    "{driver}: write after reset: {:?}: {err}",
                    err.kind()
                );
                let err = ours
                    .write_all(&[0x5a; 64 * 1024])
                    .await
                    .expect_err("write_all after the reset");
                assert!(
                    is_gone(&err),
                    "{driver}: write_all after reset: {:?}: {err}",
                    err.kind()
                );
                Ok(())
            }),
        );
    }
}

/// `SIGPIPE` at its default action (death) while alive; as it was when dropped. Rust's
/// startup code ignores `SIGPIPE`, which would hide a send made without `MSG_NOSIGNAL`.
#[cfg(target_os = "linux")]
struct SigpipeDefault(libc::sighandler_t);

#[cfg(target_os = "linux")]
impl SigpipeDefault {
    fn new() -> SigpipeDefault {
        // SAFETY: sets the disposition of SIGPIPE to the default action; no handler of
        // ours is installed, so nothing runs in signal context.
        let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        assert_ne!(old, libc::SIG_ERR, "signal: {}", io::Error::last_os_error());
        SigpipeDefault(old)
    }
}

#[cfg(target_os = "linux")]
impl Drop for SigpipeDefault {
    fn drop(&mut self) {
        // SAFETY: puts back the disposition `signal` returned (SIG_IGN under Rust's
        // startup code), as above.
        unsafe { libc::signal(libc::SIGPIPE, self.0) };
    }
}

#[cfg(target_os = "linux")]
fn is_gone(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
}

#[cfg(target_os = "linux")]
#[test]
fn writing_to_a_closed_peer_fails_without_sigpipe() {
    let _serial = serial();
    // A send without MSG_NOSIGNAL now kills this binary: the test cannot pass by accident.
    let _sigpipe = SigpipeDefault::new();
    for driver in drivers() {
        run(driver, 1, "write to a closed peer", async {
            let (mut ours, peer) = pair_with_std().await?;
            // The peer closes (a FIN); its kernel answers our first bytes with a reset.
            drop(peer);
            let chunk = vec![0x5au8; 64 * 1024];
            let mut written = 0usize;
            let mut err = None;
            for _ in 0..1000 {
                match ours.write(&chunk).await {
                    Ok(n) => {
                        assert!(n > 0, "{driver}: a write of zero bytes");
                        written += n;
                    }
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            let err = err.unwrap_or_else(|| {
                panic!("{driver}: {written} bytes written to a closed peer and no error")
            });
            assert!(is_gone(&err), "{driver}: {:?}: {err}", err.kind());
            // Still alive; and the next writes fail too.
            let err = ours.write(b"again").await.expect_err("still gone");
            assert!(is_gone(&err), "{driver}: {:?}: {err}", err.kind());
            let err = ours.write_all(&chunk).await.expect_err("still gone");
            assert!(is_gone(&err), "{driver}: {:?}: {err}", err.kind());
            Ok(())
        });
    }
}

#[test]
fn connecting_to_a_closed_port_is_connection_refused() {
    let _serial = serial();
    for driver in drivers() {
        // A port that was just free: bound, then released.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        run(driver, 1, "refused", async {
            // Ten times: a refused attempt's socket must be closed every time.
            for _ in 0..10 {
                let err = TcpStream::connect(addr)
                    .await
                    .expect_err("nothing listens there");
                assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{driver}: {err}");
            }
            Ok(())
        });
    }
}

/// RELIABILITY.md 3.4: a listener on `listen(1)` that never accepts. Once its accept queue
/// is full the kernel drops further SYNs, so a connect sits in SYN retry (1 s, 3 s, ...):
/// `timeout` ends it with `Elapsed`, and the cancelled connect's socket is closed (the
/// process's descriptor count is what it was before the connect).
#[cfg(target_os = "linux")]
#[test]
fn a_connect_to_a_full_backlog_times_out_and_closes_its_socket() {
    use hiver_runtime::{timeout, Duration};

    use crate::support::{open_fds, yield_now};

    /// Far below the first SYN retransmission (1 s): an attempt that gets no SYN-ACK at
    /// once is in SYN retry.
    const WAIT: Duration = Duration::from_millis(150);
    /// Connects tried to fill the queue (a `listen(1)` queue holds 2 on Linux; the
    /// handshake of one more may complete before its ACK is dropped).
    const FILL: usize = 16;
    let _serial = serial();
    for driver in drivers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // std listens with a backlog of 128: listen again, with 1 (Linux updates it).
        rustix::net::listen(&listener, 1).expect("listen(1)");
        let addr = listener.local_addr().unwrap();
        run(driver, 1, "connect to a full backlog", async {
            let mut held = Vec::new();
            let mut timed_out = 0;
            for _ in 0..FILL {
                let before = open_fds();
                match timeout(WAIT, TcpStream::connect(addr)).await {
                    Ok(stream) => held.push(stream?),
                    Err(_elapsed) => {
                        // The connect future is dropped: its socket is closed, at once on
                        // epoll, by a close queued on the ring on io_uring (after anything
                        // on that fd still waiting in the SQ): a few driver turns at most.
                        let mut turns = 0;
                        while open_fds() != before && turns < 100 {
                            yield_now().await;
                            turns += 1;
                        }
                        assert_eq!(
                            open_fds(),
                            before,
                            "{driver}: the cancelled connect's socket is still open after \
                             {turns} turns of the runtime"
                        );
                        timed_out += 1;
                        if timed_out == 3 {
                            break;
                        }
                    }
                }
            }
            println!(
                "{driver}: {} connects completed into the listen(1) queue, then {timed_out} \
                 timed out in SYN retry",
                held.len()
            );
            assert_eq!(
                timed_out, 3,
                "{driver}: {FILL} connects to a listen(1) socket that never accepts all \
                 completed; the backlog never filled"
            );
            assert!(!held.is_empty(), "{driver}: the first connect completes");
            drop(held);
            Ok(())
        });
        drop(listener);
    }
}

#[test]
fn a_name_that_does_not_resolve_is_an_error() {
    let _serial = serial();
    const NOWHERE: &str = "no.such.host.invalid:80";
    for driver in drivers() {
        run(driver, 1, "resolution", async {
            let err = TcpStream::connect(NOWHERE).await.expect_err("connect");
            println!("{driver}: connect {NOWHERE}: {err}");
            assert!(TcpListener::bind(NOWHERE).await.is_err(), "listener bind");
            assert!(UdpSocket::bind(NOWHERE).await.is_err(), "udp bind");
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            assert!(udp.send_to(b"x", NOWHERE).await.is_err(), "udp send_to");
            assert!(udp.connect(NOWHERE).await.is_err(), "udp connect");
            Ok(())
        });
    }
}
