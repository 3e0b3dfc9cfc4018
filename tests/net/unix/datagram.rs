//! `UnixDatagram` on each driver: datagrams keep their boundaries and carry their sender's
//! path (unnamed for an unbound sender); a datagram longer than the buffer is truncated and
//! the next one is whole; `connect` with `send`/`recv` (a connected socket takes only its
//! peer's datagrams: others' sends are refused); `pair`; shutdown of either side (a read
//! shutdown ends receives after what is queued, on every driver); a send to a full receive
//! queue waits for room and sends its whole datagram (io_uring once sent an empty one in
//! its place); and
//! many `recv_from` waiting at once from tasks on two workers, each getting one datagram.

use std::collections::HashSet;
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use hiver_runtime::io::UnixDatagram;
use hiver_runtime::{spawn, unbounded};

use super::SockDir;
use crate::support::{drivers, pattern, poll_once, run, serial, yield_now};

#[test]
fn datagrams_keep_their_boundaries_and_their_senders_path() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("dgram");
        let (a_path, b_path) = (dir.path("a.sock"), dir.path("b.sock"));
        run(driver, 1, "Unix datagrams", async {
            let a = UnixDatagram::bind(&a_path).await?;
            let b = UnixDatagram::bind(&b_path).await?;
            assert_eq!(b.local_addr()?.as_pathname(), Some(b_path.as_path()));
            let long = pattern(100, 1);
            assert_eq!(a.send_to(&long, &b_path).await?, 100);
            assert_eq!(a.send_to(b"fresh", &b_path).await?, 5);
            assert_eq!(a.send_to(b"", &b_path).await?, 0);
            let unbound = UnixDatagram::unbound()?;
            assert!(unbound.local_addr()?.is_unnamed());
            unbound.send_to(b"anonymous", &b_path).await?;

            let mut small = [0u8; 10];
            let (n, from) = b.recv_from(&mut small).await?;
            assert_eq!((n, &small[..]), (10, &long[..10]), "{driver}: truncated");
            assert_eq!(from.as_pathname(), Some(a_path.as_path()), "{driver}");
            let mut big = [0u8; 200];
            let (n, from) = b.recv_from(&mut big).await?;
            assert_eq!(
                &big[..n],
                b"fresh",
                "{driver}: the rest of the long one is gone"
            );
            assert_eq!(from.as_pathname(), Some(a_path.as_path()), "{driver}");
            let (n, _) = b.recv_from(&mut big).await?;
            assert_eq!(n, 0, "{driver}: an empty datagram");
            let (n, from) = b.recv_from(&mut big).await?;
            assert_eq!(&big[..n], b"anonymous", "{driver}");
            assert!(from.is_unnamed(), "{driver}: an unbound sender: {from:?}");
            Ok(())
        });
    }
}

#[test]
fn a_connected_socket_sends_and_receives_only_with_its_peer() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("dconnect");
        let (a_path, b_path, c_path) = (dir.path("a"), dir.path("b"), dir.path("c"));
        run(driver, 1, "connected Unix datagrams", async {
            let a = UnixDatagram::bind(&a_path).await?;
            let b = UnixDatagram::bind(&b_path).await?;
            let c = UnixDatagram::bind(&c_path).await?;
            assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
            a.connect(&b_path).await?;
            b.connect(&a_path).await?;
            assert_eq!(a.peer_addr()?.as_pathname(), Some(b_path.as_path()));

            let mut buf = [0u8; 64];
            assert_eq!(a.send(b"to b").await?, 4);
            let n = b.recv(&mut buf).await?;
            assert_eq!(&buf[..n], b"to b", "{driver}");
            b.send(b"to a").await?;
            let (n, from) = a.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], b"to a", "{driver}");
            assert_eq!(from.as_pathname(), Some(b_path.as_path()), "{driver}");

            let err = c
                .send_to(b"from c", &a_path)
                .await
                .expect_err("a is connected");
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{driver}: {err}");
            let named = a_path.display().to_string();
            assert!(
                err.to_string().contains(&named),
                "{driver}: names the path: {err}"
            );
            Ok(())
        });
    }
}

#[test]
fn a_pair_exchanges_datagrams_and_shuts_down_each_side() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 1, "Unix datagram pair", async {
            let (a, b) = UnixDatagram::pair()?;
            assert!(a.local_addr()?.is_unnamed() && a.peer_addr()?.is_unnamed());
            a.send(b"one").await?;
            a.send(b"two").await?;
            let mut buf = [0u8; 8];
            let n = b.recv(&mut buf).await?;
            assert_eq!(&buf[..n], b"one", "{driver}");
            let (n, from) = b.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], b"two", "{driver}");
            assert!(from.is_unnamed(), "{driver}");

            // Shut for reading: what is queued still comes, then the end (0 bytes), for a
            // receive made after the shutdown and for one already waiting.
            a.send(b"queued").await?;
            b.shutdown(Shutdown::Read)?;
            let n = b.recv(&mut buf).await?;
            assert_eq!(&buf[..n], b"queued", "{driver}");
            assert_eq!(b.recv(&mut buf).await?, 0, "{driver}: then the end");
            assert_eq!(b.recv(&mut buf).await?, 0, "{driver}: and again");
            let (c, _d) = UnixDatagram::pair()?;
            {
                let mut recv = pin!(c.recv(&mut buf));
                assert!(poll_once(recv.as_mut()).await.is_pending(), "{driver}");
                yield_now().await;
                c.shutdown(Shutdown::Read)?;
                assert_eq!(recv.await?, 0, "{driver}: a waiting receive ends");
            }
            a.shutdown(Shutdown::Write)?;
            let err = a.send(b"late").await.expect_err("shut for writing");
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{driver}: {err}");
            Ok(())
        });
    }
}

#[test]
fn concurrent_unix_recv_from_on_one_socket_each_get_one_datagram() {
    // Fewer than the kernel's queue cap (`net.unix.max_dgram_qlen`, 10 by default): the
    // sends never wait for room (that is the next test's subject).
    const TASKS: usize = 8;
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("many");
        let (path, sender_path) = (dir.path("r"), dir.path("s"));
        run(driver, 2, "concurrent Unix recv_from", async {
            let sock = Arc::new(UnixDatagram::bind(&path).await?);
            let (started_tx, started) = unbounded();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (sock, started_tx) = (sock.clone(), started_tx.clone());
                    spawn(async move {
                        let mut buf = [0u8; 64];
                        let (n, from) = {
                            let mut recv = pin!(sock.recv_from(&mut buf));
                            // Waiting before anything is sent.
                            let first = poll_once(recv.as_mut()).await;
                            started_tx.send(()).await.expect("test waits");
                            match first {
                                Poll::Ready(r) => r?,
                                Poll::Pending => recv.await?,
                            }
                        };
                        Ok::<_, io::Error>((buf[..n].to_vec(), from))
                    })
                })
                .collect();
            drop(started_tx);
            for _ in 0..TASKS {
                started.recv().await.expect("every task starts");
            }
            let sender = UnixDatagram::bind(&sender_path).await?;
            let sent: HashSet<Vec<u8>> = (0..TASKS)
                .map(|i| format!("datagram {i:02}").into_bytes())
                .collect();
            for d in &sent {
                sender.send_to(d, &path).await?;
            }
            let mut got = HashSet::new();
            for t in tasks {
                let (d, from) = t.await.expect("receiving task")?;
                assert_eq!(from.as_pathname(), Some(sender_path.as_path()), "{driver}");
                assert!(got.insert(d), "{driver}: a datagram received twice");
            }
            assert_eq!(got, sent, "{driver}: each task got one datagram, each once");
            Ok(())
        });
    }
}

/// The kernel's cap on datagrams queued at a Unix-domain receiver.
#[cfg(target_os = "linux")]
fn max_dgram_qlen() -> usize {
    let text = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .expect("read net.unix.max_dgram_qlen");
    text.trim().parse().expect("a number")
}

#[cfg(target_os = "linux")]
#[test]
fn a_send_to_a_full_queue_waits_for_room_and_sends_the_whole_datagram() {
    use crate::support::on_worker;
    let _serial = serial();
    let qlen = max_dgram_qlen();
    for driver in drivers() {
        let dir = SockDir::new("full");
        let (path, sender_path) = (dir.path("r"), dir.path("s"));
        run(
            driver,
            1,
            "send to a full queue",
            on_worker(async move {
                let receiver = UnixDatagram::bind(&path).await?;
                let sender = UnixDatagram::bind(&sender_path).await?;
                let datagram = |i: usize| format!("datagram {i:03}").into_bytes();
                // The kernel queues one datagram beyond its cap.
                for i in 0..=qlen {
                    assert_eq!(sender.send_to(&datagram(i), &path).await?, 12, "{driver}");
                }
                let late = datagram(qlen + 1);
                let mut send = pin!(sender.send_to(&late, &path));
                for _ in 0..10 {
                    assert!(
                        poll_once(send.as_mut()).await.is_pending(),
                        "{driver}: the send waits for room"
                    );
                    yield_now().await;
                }
                let mut buf = [0u8; 64];
                let n = receiver.recv(&mut buf).await?;
                assert_eq!(&buf[..n], datagram(0), "{driver}");
                assert_eq!(send.await?, late.len(), "{driver}: the whole datagram went");
                for i in 1..=qlen + 1 {
                    let (n, from) = receiver.recv_from(&mut buf).await?;
                    assert_eq!(&buf[..n], datagram(i), "{driver}: datagram {i}, whole");
                    assert_eq!(from.as_pathname(), Some(sender_path.as_path()));
                }
                Ok(())
            }),
        );
    }
}
