//! Cancel safety of the Unix-domain types, as `hiver_runtime::io`'s table promises, on each
//! driver: a dropped `accept` loses no connection; bytes delivered for a dropped `read` go
//! to the next reads, never into the dropped read's buffer; a datagram delivered for a
//! dropped `recv_from` (or received by one dropped while in the kernel) is returned by the
//! next call, with its sender's path.
//!
//! As in `cancel.rs`: each body runs as a task on a worker, where `yield_now` makes the
//! driver submit and reap; the peers are blocking std sockets, so bytes are sent at an
//! exact point; a dropped call's progress is observed through its waker.

use std::io::Write;
use std::pin::pin;
use std::time::Duration;

use hiver_runtime::io::{UnixDatagram, UnixListener, UnixStream};

use super::SockDir;
use crate::support::{
    drivers, on_worker, pattern, poll_once, poll_once_flagged, run, serial, yield_now,
};

#[test]
fn a_dropped_unix_accept_loses_no_connection() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("accept");
        let path = dir.path("l.sock");
        run(
            driver,
            1,
            "dropped Unix accept",
            on_worker(async move {
                let listener = UnixListener::bind(&path).await?;
                let mut pairs = Vec::new();
                // 0: dropped before the client connects; 1: dropped after it was woken for
                // the client; 2: dropped without the driver turning.
                for round in 0..3u8 {
                    let early = {
                        let mut accept = pin!(listener.accept());
                        let (first, woken) = poll_once_flagged(accept.as_mut()).await;
                        assert!(first.is_pending(), "{driver}: round {round}: nobody yet");
                        if round != 2 {
                            yield_now().await;
                        }
                        if round == 1 {
                            let client = UnixStream::connect(&path).await?;
                            woken.wait().await;
                            Some(client)
                        } else {
                            None
                        }
                    };
                    let mut client = match early {
                        Some(c) => c,
                        None => UnixStream::connect(&path).await?,
                    };
                    // Which connection was accepted: the one that says its round.
                    client.write_all(&[round]).await?;
                    let (mut stream, _) = listener.accept().await?;
                    let mut byte = [0u8; 1];
                    stream.read_exact(&mut byte).await?;
                    assert_eq!(byte[0], round, "{driver}: connections in order");
                    pairs.push((client, stream));
                }
                let mut accept = pin!(listener.accept());
                assert!(poll_once(accept.as_mut()).await.is_pending());
                yield_now().await;
                assert!(
                    poll_once(accept.as_mut()).await.is_pending(),
                    "{driver}: a connection accepted twice"
                );
                Ok(())
            }),
        );
    }
}

#[test]
fn bytes_delivered_for_a_dropped_unix_read_go_to_the_next_reads() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "dropped Unix read",
            on_worker(async move {
                // Our end is accepted by the runtime; the blocking std end stays with the
                // test (its connection waits in the backlog, so `connect` returns at once).
                let dir = SockDir::new("read");
                let listener = UnixListener::bind(dir.path("l.sock")).await?;
                let mut peer = std::os::unix::net::UnixStream::connect(dir.path("l.sock"))?;
                let (mut ours, _) = listener.accept().await?;
                let mut big = [0xAAu8; 4096];
                {
                    let mut read = pin!(ours.read(&mut big));
                    let (first, woken) = poll_once_flagged(read.as_mut()).await;
                    assert!(first.is_pending(), "{driver}: nothing sent yet");
                    yield_now().await;
                    peer.write_all(&pattern(1000, 4))?;
                    woken.wait().await;
                }
                assert!(
                    big.iter().all(|&b| b == 0xAA),
                    "{driver}: bytes landed in the dropped read's buffer"
                );
                let mut got = vec![0u8; 1000];
                ours.read_exact(&mut got).await?;
                assert!(
                    got == pattern(1000, 4),
                    "{driver}: the bytes, in order, once"
                );
                peer.write_all(b"END")?;
                let mut end = [0u8; 3];
                ours.read_exact(&mut end).await?;
                assert_eq!(&end, b"END", "{driver}: nothing left over or repeated");
                Ok(())
            }),
        );
    }
}

/// How long the next `recv_from` may take to return a datagram already sent.
const STRANDED: Duration = Duration::from_secs(10);

#[test]
fn datagrams_received_for_dropped_unix_recv_from_come_next_with_their_source() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("recv-from");
        let (path, sender_path) = (dir.path("r.sock"), dir.path("s.sock"));
        run(
            driver,
            1,
            "dropped Unix recv_from",
            on_worker(async move {
                let sock = UnixDatagram::bind(&path).await?;
                let sender = std::os::unix::net::UnixDatagram::bind(&sender_path)?;
                let mut buf = [0xAAu8; 64];
                // Dropped after its datagram was delivered (its waker used).
                {
                    let mut recv = pin!(sock.recv_from(&mut buf));
                    let (first, woken) = poll_once_flagged(recv.as_mut()).await;
                    assert!(first.is_pending(), "{driver}: nothing sent yet");
                    yield_now().await;
                    sender.send_to(b"first", &path)?;
                    woken.wait().await;
                }
                assert!(buf.iter().all(|&b| b == 0xAA), "{driver}: buffer written");
                // Dropped while its receive is in the kernel; the datagram comes before the
                // cancellation does.
                {
                    let mut got = [0u8; 64];
                    let (n, from) = sock.recv_from(&mut got).await?;
                    assert_eq!(&got[..n], b"first", "{driver}");
                    assert_eq!(from.as_pathname(), Some(sender_path.as_path()));
                    let mut recv = pin!(sock.recv_from(&mut got));
                    assert!(poll_once(recv.as_mut()).await.is_pending());
                    yield_now().await;
                }
                sender.send_to(b"second", &path)?;
                let mut got = [0u8; 64];
                for want in [&b"second"[..], b"third"] {
                    let (n, from) = hiver_runtime::timeout(STRANDED, sock.recv_from(&mut got))
                        .await
                        .unwrap_or_else(|_| panic!("{driver}: a datagram stranded"))?;
                    assert_eq!(&got[..n], want, "{driver}: in order, each once");
                    assert_eq!(
                        from.as_pathname(),
                        Some(sender_path.as_path()),
                        "{driver}: the kept datagram's source"
                    );
                    if want == b"second" {
                        sender.send_to(b"third", &path)?;
                    }
                }
                Ok(())
            }),
        );
    }
}
