//! Dropping a socket closes its descriptor, on each driver, even when it is the last thing
//! the program does before dropping the runtime: the descriptor is gone, and the peer reads
//! end of stream.
//!
//! They call nothing to help the runtime: no flush, no extra turn.

use std::io::Read;
use std::time::Duration;

use hiver_runtime::io::{TcpListener, UdpSocket};
use hiver_runtime::spawn;

use crate::support::{assert_no_fd_leak, drivers, open_fds, pair, pair_with_std, runtime, serial};

/// How long a peer waits for the end of stream before the test calls it lost (a bound
/// against a hang, far above the microseconds a close takes).
const PEER_WAIT: Duration = Duration::from_secs(5);

#[test]
fn sockets_dropped_last_in_block_on_are_closed() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        let peer = rt
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let udp = UdpSocket::bind("127.0.0.1:0").await?;
                let (a, b) = pair().await?;
                let (ours, peer) = pair_with_std().await?;
                // Everything dropped as the future ends.
                drop((listener, udp, a, b, ours));
                Ok::<_, std::io::Error>(peer)
            })
            .unwrap()
            .unwrap();
        drop(rt);
        let mut peer = peer;
        peer.set_read_timeout(Some(PEER_WAIT)).unwrap();
        // With a timeout set, io_uring's teardown work on this thread can interrupt the
        // read (EINTR): try again, a bounded number of times.
        let mut eof = peer.read(&mut [0u8; 16]);
        for _ in 0..10 {
            match &eof {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    eof = peer.read(&mut [0u8; 16]);
                }
                _ => break,
            }
        }
        drop(peer);
        let after = open_fds();
        assert!(
            matches!(eof, Ok(0)) && after == before,
            "{driver}: the peer read {eof:?} (end of stream is Ok(0)); {before} descriptors \
             open before the runtime, {after} after dropping everything"
        );
    }
}

#[test]
fn a_socket_dropped_by_a_task_just_before_the_runtime_is_closed() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        // The task's close and the runtime's drop race: twenty rounds.
        for _ in 0..20 {
            let mut rt = runtime(driver, 1);
            rt.block_on(async {
                spawn(async { drop(UdpSocket::bind("127.0.0.1:0").await) })
                    .await
                    .unwrap()
            })
            .unwrap();
            drop(rt);
        }
        assert_no_fd_leak(before, driver);
    }
}
