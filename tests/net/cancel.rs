//! Cancel safety, as `hiver_runtime::io`'s table promises, on each driver: a dropped
//! `read` loses no byte and duplicates none, and never writes into the caller's buffer
//! after it is gone; bytes the kernel delivered for a dropped read are returned by the next
//! reads; a dropped `accept` loses no connection; a dropped `recv_from` loses no datagram;
//! a dropped `read_owned` loses no byte.
//!
//! Each body runs as a task on a worker, where `yield_now` makes the driver submit and reap
//! (so an io_uring receive really is in the kernel when its future is dropped). Peers are
//! blocking std sockets, so that bytes are sent at an exact point: after a read was
//! submitted, before or after its future is dropped. "The kernel delivered bytes for the
//! dropped read" is observed without polling it: its waker was used (see
//! `support::poll_once_flagged`).
//!
//! Ignored until fixed: a `recv_from` dropped while its receive is in the kernel (io_uring)
//! strands the datagram that receive completes with, and the next `recv_from` hangs.

use std::io::{self, Write};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use hiver_runtime::io::{TcpListener, TcpStream, UdpSocket};
use hiver_runtime::DriverType;

use crate::support::{
    drivers, on_worker, pair_with_std, pattern, pattern_at, poll_once, poll_once_flagged, run,
    run_metrics, serial, yield_now,
};

/// Reads until end of stream, `max` bytes at most.
async fn read_to_end(stream: &mut TcpStream, max: usize) -> io::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 7 * 1024];
    for _ in 0..=max {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(got);
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() > max {
            break;
        }
    }
    Err(io::Error::other(format!(
        "{} bytes read, {max} sent",
        got.len()
    )))
}

/// Reads exactly `len` bytes in reads of at most `chunk` bytes (each read returning at
/// least one).
async fn read_in_chunks(stream: &mut TcpStream, len: usize, chunk: usize) -> io::Result<Vec<u8>> {
    let mut got = Vec::with_capacity(len);
    let mut buf = vec![0u8; chunk];
    while got.len() < len {
        let want = chunk.min(len - got.len());
        let n = stream.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("end of stream after {} of {len} bytes", got.len()),
            ));
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

const DROPS: usize = 100_000;

#[test]
fn a_read_dropped_100_000_times_loses_no_byte() {
    const LEN: usize = 1 << 20;
    let _serial = serial();
    for driver in drivers() {
        let (_, metrics) = run_metrics(
            driver,
            1,
            "100,000 dropped reads",
            on_worker(async move {
                let (mut ours, peer) = pair_with_std().await?;
                let mut buf = [0u8; 4096];
                for i in 0..DROPS {
                    let mut read = pin!(ours.read(&mut buf));
                    if let Poll::Ready(r) = poll_once(read.as_mut()).await {
                        panic!("{driver}: drop {i}: the read finished ({r:?}) with nothing sent");
                    }
                    // Mostly let the driver turn with the read alive (an io_uring receive is
                    // then in the kernel when dropped); sometimes drop it at once.
                    if i % 4 != 3 {
                        yield_now().await;
                    }
                }
                // Now the peer sends, then closes: every byte must arrive, once, in order.
                let sender = std::thread::spawn(move || {
                    let mut peer = peer;
                    peer.write_all(&pattern(LEN, 7))
                });
                let got = read_to_end(&mut ours, LEN).await?;
                sender.join().expect("sender thread")?;
                assert_eq!(got.len(), LEN, "{driver}: bytes read after the drops");
                assert!(got == pattern(LEN, 7), "{driver}: the bytes, in order");
                Ok(())
            }),
        );
        if driver == DriverType::IOUring {
            // The drops did reach the kernel: receives were cancelled there, many times
            // (far fewer than 100,000: a dropped receive stays with the stream and the
            // next reads adopt it until its cancellation completes).
            let cancels: u64 = metrics.workers().iter().map(|w| w.io_cancels).sum();
            assert!(
                cancels >= 100,
                "{driver}: only {cancels} cancellations for {DROPS} dropped reads"
            );
        }
    }
}

#[test]
fn reads_dropped_while_bytes_flow_lose_and_duplicate_nothing() {
    const LEN: usize = 4 << 20;
    const MAX_POLLS: usize = 2_000_000;
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "dropped reads while bytes flow",
            on_worker(async move {
                let (mut ours, peer) = pair_with_std().await?;
                let sender = std::thread::spawn(move || {
                    let mut peer = peer;
                    let data = pattern(LEN, 5);
                    let sizes = [1, 100, 1000, 4096, 10_000, 65_536, 3];
                    let (mut off, mut k) = (0, 0);
                    while off < LEN {
                        let n = sizes[k % sizes.len()].min(LEN - off);
                        peer.write_all(&data[off..off + n])?;
                        off += n;
                        k += 1;
                    }
                    Ok::<_, io::Error>(())
                    // `peer` dropped: end of stream.
                });
                let mut got = Vec::with_capacity(LEN);
                let mut buf = vec![0u8; 16 * 1024];
                let mut eof = false;
                for i in 0..MAX_POLLS {
                    // Every read is polled once and dropped, finished or not; a pending one
                    // mostly after the driver turned.
                    let polled = {
                        let mut read = pin!(ours.read(&mut buf));
                        let polled = poll_once(read.as_mut()).await;
                        if polled.is_pending() && i % 3 != 2 {
                            yield_now().await;
                        }
                        polled
                    };
                    match polled {
                        Poll::Ready(Ok(0)) => {
                            eof = true;
                            break;
                        }
                        Poll::Ready(Ok(n)) => {
                            got.extend_from_slice(&buf[..n]);
                            assert!(got.len() <= LEN, "{driver}: more bytes than were sent");
                        }
                        Poll::Ready(Err(e)) => return Err(e),
                        Poll::Pending => {}
                    }
                }
                assert!(eof, "{driver}: no end of stream within {MAX_POLLS} polls");
                sender.join().expect("sender thread")?;
                assert_eq!(got.len(), LEN, "{driver}: bytes read");
                let first_bad = got.iter().zip(pattern(LEN, 5)).position(|(a, b)| *a != b);
                assert_eq!(first_bad, None, "{driver}: first wrong byte");
                Ok(())
            }),
        );
    }
}

/// Reads dropped while pending, with the peer writing all along (RELIABILITY.md case 19).
const FLOWING_DROPS: u64 = if cfg!(debug_assertions) {
    20_000
} else {
    100_000
};

/// Case 19 with bytes flowing: a std peer writes a pattern continuously (chunks of 1 byte
/// to 16 KiB, pausing now and then so that the socket runs empty) while the reader polls
/// reads once and drops every one that is pending (mostly after the driver turned, so an
/// io_uring receive is in the kernel, racing its data), until `FLOWING_DROPS` were dropped.
/// Then the peer stops and closes: the bytes read, checked as they come, are exactly the
/// bytes sent, in order. At the end nothing is in flight and the receive ring never ran dry
/// (a buffer lost by a cancelled receive that won the race would never come back: a few
/// hundred lost would starve the 256-buffer ring). The driver's count of lent buffers is
/// not public; `buf_starved == 0` and `io_in_flight == 0` are what the metrics show.
#[test]
fn reads_dropped_while_the_peer_writes_continuously_lose_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const SEED: u8 = 13;
    let _serial = serial();
    for driver in drivers() {
        let ((drops, readies, bytes), metrics) = run_metrics(
            driver,
            1,
            "reads dropped while bytes flow continuously",
            on_worker(async move {
                let (mut ours, peer) = pair_with_std().await?;
                let stop = Arc::new(AtomicBool::new(false));
                let stopped = stop.clone();
                // The pattern repeats every 251 bytes: the bytes from offset `off` on, up to
                // 16 KiB, are `table[off % 251..]` (compared with memcmp, fast in debug too).
                let table: Arc<Vec<u8>> =
                    Arc::new((0..251 + 16 * 1024).map(|i| pattern_at(i, SEED)).collect());
                let tab = table.clone();
                let sender = std::thread::spawn(move || {
                    let mut peer = peer;
                    let mut sent = 0usize;
                    let mut k = 0u64;
                    // Bounded: the reader stops it; 64 GiB would take minutes.
                    while !stopped.load(Ordering::SeqCst) && sent < 64 << 30 {
                        let n = [1, 7, 100, 1000, 4096, 16 * 1024, 3, 512][(k % 8) as usize];
                        let from = sent % 251;
                        peer.write_all(&tab[from..from + n])?;
                        sent += n;
                        k += 1;
                        if k % 8 == 0 {
                            // Pace (provoke): the reader catches up and its reads wait.
                            std::thread::sleep(Duration::from_micros(50));
                        }
                    }
                    Ok::<_, io::Error>(sent)
                    // `peer` dropped: end of stream.
                });
                let mut off = 0usize;
                let mut buf = vec![0u8; 16 * 1024];
                let (mut drops, mut readies) = (0u64, 0u64);
                let check = |got: &[u8], off: usize| {
                    let want = &table[off % 251..off % 251 + got.len()];
                    if got != want {
                        let i = (0..got.len()).find(|&i| got[i] != want[i]).unwrap_or(0);
                        panic!(
                            "{driver}: byte {} wrong (lost, repeated or reordered)",
                            off + i
                        );
                    }
                };
                // Bounded: the drops come within the test's deadline (`run`'s 60 s).
                let mut i = 0u64;
                while drops < FLOWING_DROPS {
                    i += 1;
                    let polled = {
                        let mut read = pin!(ours.read(&mut buf));
                        let polled = poll_once(read.as_mut()).await;
                        if polled.is_pending() {
                            drops += 1;
                            if i % 4 != 3 {
                                yield_now().await;
                            }
                        }
                        polled
                    };
                    match polled {
                        Poll::Ready(Ok(0)) => {
                            panic!("{driver}: end of stream while the peer writes")
                        }
                        Poll::Ready(Ok(n)) => {
                            check(&buf[..n], off);
                            off += n;
                            readies += 1;
                        }
                        Poll::Ready(Err(e)) => return Err(e),
                        Poll::Pending => {}
                    }
                }
                stop.store(true, Ordering::SeqCst);
                loop {
                    let n = ours.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    check(&buf[..n], off);
                    off += n;
                }
                let sent = sender.join().expect("sender thread")?;
                assert_eq!(off, sent, "{driver}: bytes read, bytes sent");
                Ok((drops, readies, off))
            }),
        );
        let w = &metrics.workers()[0];
        println!(
            "{driver}: {drops} reads dropped pending, {readies} completed, {bytes} bytes \
             byte-exact; io_cancels {} (done {}, late {}), io_in_flight {}, buf_starved {}",
            w.io_cancels, w.io_cancels_done, w.io_cancels_late, w.io_in_flight, w.buf_starved
        );
        assert!(bytes > 0 && readies > 0, "{driver}: bytes flowed");
        if driver == DriverType::IOUring {
            assert!(
                w.io_cancels > 0,
                "{driver}: receives were cancelled in the kernel"
            );
            assert_eq!(w.io_in_flight, 0, "{driver}: operations left in flight");
            assert_eq!(w.buf_starved, 0, "{driver}: the receive ring ran dry");
        }
    }
}

#[test]
fn a_dropped_read_leaves_the_callers_buffer_untouched() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "sentinel",
            on_worker(async move {
                let (mut ours, mut peer) = pair_with_std().await?;
                let mut buf = [0xAAu8; 4096];
                {
                    let mut read = pin!(ours.read(&mut buf));
                    assert!(poll_once(read.as_mut()).await.is_pending());
                    yield_now().await;
                    assert!(poll_once(read.as_mut()).await.is_pending());
                }
                let data = b"bytes sent after the read was dropped";
                peer.write_all(data)?;
                let mut next = [0u8; 64];
                let n = ours.read(&mut next).await?;
                assert!(n > 0, "{driver}: the next read returns data");
                let mut got = next[..n].to_vec();
                got.extend(read_in_chunks(&mut ours, data.len() - n, 64).await?);
                assert_eq!(got, data, "{driver}: the next reads return the data");
                assert!(
                    buf.iter().all(|&b| b == 0xAA),
                    "{driver}: the dropped read's buffer was written to"
                );
                Ok(())
            }),
        );
    }
}

#[test]
fn bytes_delivered_for_a_dropped_read_go_to_the_next_reads() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "delivered then dropped",
            on_worker(async move {
                let (mut ours, mut peer) = pair_with_std().await?;
                let mut big = [0xAAu8; 4096];
                {
                    let mut read = pin!(ours.read(&mut big));
                    let (first, woken) = poll_once_flagged(read.as_mut()).await;
                    assert!(first.is_pending(), "{driver}: nothing sent yet");
                    // The receive is submitted; then the bytes come.
                    yield_now().await;
                    peer.write_all(&pattern(1000, 9))?;
                    // The kernel completed the receive (io_uring) or the socket became readable
                    // (epoll): the read's waker was used. Drop it without polling it again.
                    woken.wait().await;
                }
                assert!(
                    big.iter().all(|&b| b == 0xAA),
                    "{driver}: bytes landed in the dropped read's buffer"
                );
                let got = read_in_chunks(&mut ours, 1000, 10).await?;
                assert!(
                    got == pattern(1000, 9),
                    "{driver}: the 1000 bytes, in order"
                );
                // Nothing left over or repeated: the next bytes are the next ones sent.
                peer.write_all(b"END")?;
                assert_eq!(read_in_chunks(&mut ours, 3, 10).await?, b"END", "{driver}");
                Ok(())
            }),
        );
    }
}

#[test]
fn a_dropped_read_owned_loses_no_byte() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "dropped read_owned",
            on_worker(async move {
                let (mut ours, mut peer) = pair_with_std().await?;
                {
                    let mut read = pin!(ours.read_owned(Vec::with_capacity(4096)));
                    let (first, woken) = poll_once_flagged(read.as_mut()).await;
                    assert!(first.is_pending(), "{driver}: nothing sent yet");
                    yield_now().await;
                    peer.write_all(&pattern(500, 11))?;
                    woken.wait().await;
                }
                let got = read_in_chunks(&mut ours, 500, 10).await?;
                assert!(got == pattern(500, 11), "{driver}: the 500 bytes, in order");
                peer.write_all(b"tail")?;
                let (n, buf) = ours.read_owned(Vec::with_capacity(16)).await;
                assert_eq!(&buf[..n?], b"tail", "{driver}: the next owned read");
                Ok(())
            }),
        );
    }
}

#[test]
fn a_dropped_accept_loses_no_connection() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "dropped accept",
            on_worker(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let mut clients = Vec::new();
                // 0: dropped before the client connects; 1: dropped after it was woken for
                // the client (on io_uring: accepted into the listener's queue); 2: dropped
                // without the driver turning.
                for round in 0..3 {
                    let client = {
                        let mut accept = pin!(listener.accept());
                        let (first, woken) = poll_once_flagged(accept.as_mut()).await;
                        assert!(
                            first.is_pending(),
                            "{driver}: round {round}: nobody connected"
                        );
                        if round != 2 {
                            yield_now().await;
                        }
                        if round == 1 {
                            let client = TcpStream::connect(addr).await?;
                            woken.wait().await;
                            Some(client)
                        } else {
                            None
                        }
                    };
                    let client = match client {
                        Some(c) => c,
                        None => TcpStream::connect(addr).await?,
                    };
                    let (stream, peer) = listener.accept().await?;
                    assert_eq!(peer, client.local_addr()?, "{driver}: round {round}");
                    assert_eq!(stream.peer_addr()?, peer, "{driver}: round {round}");
                    clients.push((client, stream));
                }
                // No connection was accepted twice: nothing more is waiting.
                let mut accept = pin!(listener.accept());
                assert!(poll_once(accept.as_mut()).await.is_pending());
                yield_now().await;
                assert!(
                    poll_once(accept.as_mut()).await.is_pending(),
                    "{driver}: an extra connection"
                );
                Ok(())
            }),
        );
    }
}

#[test]
fn a_recv_from_dropped_after_delivery_loses_no_datagram() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "recv_from dropped after delivery",
            on_worker(async move {
                let sock = UdpSocket::bind("127.0.0.1:0").await?;
                let addr = sock.local_addr()?;
                let sender = std::net::UdpSocket::bind("127.0.0.1:0")?;
                let from = sender.local_addr()?;
                let mut buf = [0xAAu8; 64];
                {
                    let mut recv = pin!(sock.recv_from(&mut buf));
                    let (first, woken) = poll_once_flagged(recv.as_mut()).await;
                    assert!(first.is_pending(), "{driver}: nothing sent yet");
                    yield_now().await;
                    sender.send_to(b"first", addr)?;
                    // Delivered to the dropped call (io_uring) or readable (epoll).
                    woken.wait().await;
                }
                assert!(buf.iter().all(|&b| b == 0xAA), "{driver}: buffer written");
                let mut got = [0u8; 64];
                let (n, src) = sock.recv_from(&mut got).await?;
                assert_eq!((&got[..n], src), (&b"first"[..], from), "{driver}");
                // Returned once: the next datagram is the next one sent.
                sender.send_to(b"second", addr)?;
                let (n, src) = sock.recv_from(&mut got).await?;
                assert_eq!((&got[..n], src), (&b"second"[..], from), "{driver}");
                Ok(())
            }),
        );
    }
}

/// How long the next `recv_from` may take to return a datagram already sent (a bound
/// against the hang this test found, far above the microseconds it takes).
const STRANDED: Duration = Duration::from_secs(10);

#[test]
fn a_recv_from_dropped_in_flight_loses_no_datagram() {
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            1,
            "recv_from dropped in flight",
            on_worker(async move {
                let sock = UdpSocket::bind("127.0.0.1:0").await?;
                let addr = sock.local_addr()?;
                let sender = std::net::UdpSocket::bind("127.0.0.1:0")?;
                let from = sender.local_addr()?;
                let mut buf = [0u8; 64];
                {
                    let mut recv = pin!(sock.recv_from(&mut buf));
                    assert!(
                        poll_once(recv.as_mut()).await.is_pending(),
                        "{driver}: nothing sent"
                    );
                    // The receive is in the kernel when dropped.
                    yield_now().await;
                }
                // Sent before the driver turns again (so before the cancellation reaches the
                // kernel): the dropped receive may complete with it.
                sender.send_to(b"first", addr)?;
                let mut got = [0u8; 64];
                for want in [&b"first"[..], b"second"] {
                    let (n, src) = hiver_runtime::timeout(STRANDED, sock.recv_from(&mut got))
                    .await
                    .unwrap_or_else(|_| {
                        let want = String::from_utf8_lossy(want);
                        panic!("{driver}: {want:?} sent, recv_from still waiting after {STRANDED:?}")
                    })?;
                    assert_eq!(
                        (&got[..n], src),
                        (want, from),
                        "{driver}: in order, each once"
                    );
                    if want == b"first" {
                        sender.send_to(b"second", addr)?;
                    }
                }
                Ok(())
            }),
        );
    }
}
