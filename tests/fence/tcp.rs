//! TCP reads (into the caller's buffer) and owned receives (`read_owned`: the buffer moves
//! into the operation) dropped in flight while a peer writes.

use std::io::Write;
use std::pin::pin;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::DriverType;

use crate::support::{attempt, attempt_turning, cancels, drivers, pacer, pattern, run, serial};

/// Reads dropped in flight, at least.
const DROPS: usize = 10_000;
const LEN: usize = 1 << 20;
const SEED: u8 = 0x5a;
/// Written only after the drops: the reader cannot reach the end of stream before.
const TAIL: usize = 1000;
/// Read sizes, cycled.
const CHUNKS: [usize; 5] = [1, 100, 1500, 4096, 16 * 1024];

#[derive(Clone, Copy, Debug)]
enum Mode {
    Borrowed,
    Owned,
}

fn dropped_reads(mode: Mode) {
    let _serial = serial();
    for driver in drivers() {
        let what = format!("{mode:?} reads dropped while the peer writes");
        let metrics = run(driver, &what, async move {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let mut ours = TcpStream::connect(listener.local_addr()?).await?;
            let (mut peer, _) = listener.accept()?;
            let (mut ticks, tocks) = pacer();
            let writer = std::thread::spawn(move || {
                let data = pattern(LEN, SEED);
                let mut off = 0;
                let mut k = 0;
                // All but the tail, one chunk per step of the reader, so that bytes arrive
                // while its reads are in flight.
                while off < LEN - TAIL {
                    tocks.wait();
                    let n = [1, 64, 300, 700][k % 4].min(LEN - TAIL - off);
                    peer.write_all(&data[off..off + n])?;
                    off += n;
                    k += 1;
                }
                // The tail once the reader dropped enough reads, then end of stream.
                tocks.wait_release();
                peer.write_all(&data[off..])?;
                Ok::<_, std::io::Error>(())
            });
            let mut got = Vec::with_capacity(LEN);
            let mut buf = vec![0u8; 16 * 1024];
            let mut dropped = 0;
            for step in 0.. {
                let chunk = CHUNKS[step % CHUNKS.len()];
                let done = match mode {
                    Mode::Borrowed => {
                        let r = {
                            let read = pin!(ours.read(&mut buf[..chunk]));
                            attempt_turning(read, step % 4 != 3).await
                        };
                        r.map(|r| r.map(|n| buf[..n].to_vec()))
                    }
                    Mode::Owned => {
                        let read = pin!(ours.read_owned(Vec::with_capacity(chunk)));
                        attempt_turning(read, step % 4 != 3).await.map(|(r, v)| {
                            r.map(|n| {
                                assert_eq!(n, v.len(), "{driver}: owned read length");
                                v
                            })
                        })
                    }
                };
                match done {
                    Some(r) => {
                        let bytes = r?;
                        if bytes.is_empty() {
                            break;
                        }
                        got.extend_from_slice(&bytes);
                        assert!(got.len() <= LEN, "{driver}: more bytes than sent");
                    }
                    None => dropped += 1,
                }
                ticks.tick();
                if dropped >= DROPS {
                    ticks.release();
                }
                assert!(step < 10_000_000, "{driver}: no end of stream");
            }
            writer.join().expect("writer thread")?;
            assert_eq!(got.len(), LEN, "{driver}: bytes after {dropped} drops");
            assert!(got == pattern(LEN, SEED), "{driver}: the bytes, in order");
            assert!(dropped >= DROPS, "{driver}: {dropped} drops");
            eprintln!("{driver}: {mode:?}: {dropped} reads dropped in flight");
            Ok(())
        });
        if driver == DriverType::IOUring {
            eprintln!("{driver}: {mode:?}: {} cancellations", cancels(&metrics));
            assert!(
                cancels(&metrics) > 0,
                "{driver}: no cancellation reached the kernel"
            );
        }
    }
}

#[test]
fn reads_dropped_in_flight_while_the_peer_writes() {
    dropped_reads(Mode::Borrowed);
}

#[test]
fn owned_receives_dropped_in_flight_while_the_peer_writes() {
    dropped_reads(Mode::Owned);
}

/// Streams whose read is in flight, dropped whole (the socket closes under the cancelled
/// receive), while their peers write.
#[test]
fn streams_dropped_with_a_read_in_flight() {
    const STREAMS: usize = 500;
    let _serial = serial();
    for driver in drivers() {
        run(driver, "streams dropped with reads in flight", async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (mut ticks, tocks) = pacer();
            let writer = std::thread::spawn(move || {
                for i in 0..STREAMS {
                    let mut s = std::net::TcpStream::connect(addr)?;
                    tocks.wait();
                    // The reader may be gone already: a reset is fine.
                    let _ = s.write_all(&pattern(2000 + i, i as u8));
                }
                Ok::<_, std::io::Error>(())
            });
            for i in 0..STREAMS {
                let (mut stream, _) = listener.accept().await?;
                let mut buf = vec![0u8; 4096];
                let first = {
                    let read = pin!(stream.read(&mut buf));
                    attempt(read).await
                };
                ticks.tick();
                if let Some(r) = first {
                    let n = r?;
                    assert!(buf[..n] == pattern(2000 + i, i as u8)[..n], "{driver}");
                }
                // The stream goes with its read (if still in flight).
            }
            ticks.release();
            writer.join().expect("writer thread")?;
            Ok(())
        });
    }
}
