//! Case 5, partial writes: with `SO_SNDBUF` and `SO_RCVBUF` at 4 KiB on both ends and a
//! slow reader, `write` returns short counts and `write_all` completes once the peer
//! drains. Every byte arrives, in order (a position-dependent pattern, checked by the
//! reader).
//!
//! The drivers differ in why a count is short, as documented on the stream's writer:
//! - epoll: a `send` takes what fits in the socket buffer. The reader does not read until
//!   the first 64 KiB write returned, so that one is short for sure; later ones too, often.
//! - io_uring: a write copies at most 256 KiB into one send with `MSG_WAITALL` and waits
//!   for all of it (one send in flight per stream, in order), so a write never comes back
//!   short for lack of buffer space: the test checks that each write returned exactly
//!   `min(asked, 256 KiB)` and writes 1 MiB at a time, so that every count is short. (A
//!   write there waits for the reader, so the reader starts at once.)
//!
//! Our stream's descriptor is not public: the test finds it in `/proc/self/fd` by its
//! addresses (`support::socket_fd`) to set its send buffer. The reader's receive buffer is
//! set on the std listener before the connection exists, so the window is small from the
//! handshake on (an accepted socket inherits it).

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

use hiver_runtime::io::TcpStream;
use hiver_runtime::{spawn, DriverType};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, set_buffer_sizes, socket_fd,
    within, Watchdog,
};

/// What one `write` asks for: 64 KiB on epoll; on io_uring 1 MiB, beyond the 256 KiB one
/// send takes.
fn chunk(driver: DriverType) -> usize {
    if driver == DriverType::IOUring {
        1 << 20
    } else {
        64 * 1024
    }
}
/// The most one write sends on io_uring (`MAX_SEND` of the stream writer).
const URING_MAX_SEND: usize = 256 * 1024;
const BUF: usize = 4 * 1024;

fn pattern_at(i: usize) -> u8 {
    (i % 251) as u8 ^ 0x3c
}

#[test]
fn writes_are_short_on_small_buffers_and_write_all_completes() {
    let _serial = serial();
    let total = scaled(32 << 20, 4 << 20) as usize;
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_buffer_sizes(&listener, BUF);
        let addr = listener.local_addr().unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let uring = driver == DriverType::IOUring;
        let chunk = chunk(driver);
        if uring {
            go_tx.send(()).unwrap();
        }
        let reader = std::thread::spawn(move || -> std::io::Result<usize> {
            let (mut peer, _) = listener.accept()?;
            peer.set_read_timeout(Some(Duration::from_secs(30)))?;
            // Not reading until the writer's first write came back (epoll).
            go_rx.recv().expect("the writer says go");
            let mut buf = [0u8; 1024];
            let mut got = 0usize;
            let mut reads = 0u64;
            loop {
                let n = peer.read(&mut buf)?;
                if n == 0 {
                    return Ok(got);
                }
                for (k, b) in buf[..n].iter().enumerate() {
                    if *b != pattern_at(got + k) {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "byte {} is {b:#x}, expected {:#x}",
                                got + k,
                                pattern_at(got + k)
                            ),
                        ));
                    }
                }
                got += n;
                reads += 1;
                // A slow reader: a pause now and then keeps the writer's buffers full.
                if reads % 64 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        let (short, writes) = rt
            .block_on(within("partial writes", async move {
                spawn(async move {
                    let data: Vec<u8> = (0..total).map(pattern_at).collect();
                    let mut ours = TcpStream::connect(addr).await?;
                    let fd = socket_fd(ours.local_addr()?, ours.peer_addr()?)
                        .expect("our stream's descriptor");
                    let (mut sent, mut short, mut writes) = (0usize, 0u64, 0u64);
                    set_buffer_sizes(&fd, BUF);
                    // Checks one write's count; whether it was short.
                    let check = |asked: usize, n: usize| {
                        assert!(n > 0, "{driver}: a write of 0 bytes");
                        if uring {
                            assert_eq!(
                                n,
                                asked.min(URING_MAX_SEND),
                                "{driver}: a write sends all it asked, up to 256 KiB"
                            );
                        }
                        u64::from(n < asked)
                    };
                    // Nobody reads yet (epoll): a 64 KiB write cannot fit in the 4 KiB
                    // buffers, and cannot wait either: part of it fits at once.
                    let asked = chunk.min(total);
                    let n = ours.write(&data[..asked]).await?;
                    short += check(asked, n);
                    writes += 1;
                    sent += n;
                    if !uring {
                        go_tx.send(()).expect("the reader waits");
                    }
                    // Half the data through plain writes, the rest through one write_all.
                    while sent < total / 2 {
                        let end = (sent + chunk).min(total);
                        let n = ours.write(&data[sent..end]).await?;
                        short += check(end - sent, n);
                        writes += 1;
                        sent += n;
                    }
                    ours.write_all(&data[sent..]).await?;
                    drop(ours);
                    Ok::<_, std::io::Error>((short, writes))
                })
                .await
                .expect("writer task")
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: writer: {e}"));
        let got = {
            let _w = Watchdog::arm("the reader", Duration::from_secs(60));
            reader.join().expect("reader thread")
        }
        .unwrap_or_else(|e| panic!("{driver}: reader: {e}"));
        println!(
            "{driver}: {short} of {writes} writes of up to {} KiB came back short; \
             {got} bytes arrived in order",
            chunk / 1024
        );
        assert!(short >= 1, "{driver}: no write returned less than asked");
        assert_eq!(got, total, "{driver}: bytes that arrived");
        {
            let _w = Watchdog::arm("dropping the runtime", Duration::from_secs(30));
            drop(rt);
        }
        assert_no_fd_leak(before, format_args!("{driver}: partial writes"));
    }
}
