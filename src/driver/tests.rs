//! A kernel whose io_uring lacks an opcode the driver needs (RELIABILITY.md case 13, the
//! faked-probe half; the seccomp EPERM/ENOSYS halves are `tests/fallback`): `IOUring` is an
//! error naming the opcode, `Auto` comes up on epoll, says why, and serves a round trip.
//! And a provided-buffer ring exhausted by 1,000 senders (case 15).
#![allow(unsafe_code)] // getrlimit/setrlimit, to hold 2,000 descriptors

use hiver_sys::uring::opcode;

use crate::driver::DriverConfig;
use crate::io::{TcpListener, TcpStream};
use crate::{DriverType, Runtime, RuntimeConfig};

fn build(kind: DriverType, gone: u8) -> std::io::Result<Runtime> {
    let driver_io = DriverConfig {
        fake_missing_op: Some(gone),
        ..DriverConfig::default()
    };
    Runtime::builder()
        .config(RuntimeConfig {
            driver_io,
            ..RuntimeConfig::default()
        })
        .worker_threads(1)
        .driver_type(kind)
        .build()
}

#[test]
fn a_missing_opcode_refuses_io_uring_and_auto_falls_back_to_epoll() {
    for gone in [opcode::RECVMSG, opcode::ACCEPT] {
        let why = format!("lacks opcode {gone}");
        // IOUring: an error naming the opcode, at build or at the block_on thread's ring.
        let refused = build(DriverType::IOUring, gone).and_then(|mut rt| rt.block_on(async {}));
        let e = refused.expect_err("io_uring without a needed opcode must be refused");
        assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains(&why), "{e}");

        // Auto: epoll, the reason recorded, and it works.
        let mut rt = build(DriverType::Auto, gone).expect("Auto falls back");
        assert_eq!(rt.driver_type(), DriverType::Epoll);
        let caps = rt.capabilities();
        assert_eq!(caps.driver, DriverType::Epoll);
        let fallback = caps.fallback.expect("the fallback reason is recorded");
        assert!(fallback.contains(&why), "{fallback}");
        let echoed = rt
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let mut client = TcpStream::connect(listener.local_addr()?).await?;
                let (mut server, _) = listener.accept().await?;
                client.write_all(b"ping").await?;
                let mut buf = [0u8; 4];
                server.read_exact(&mut buf).await?;
                std::io::Result::Ok(buf)
            })
            .unwrap()
            .unwrap();
        assert_eq!(&echoed, b"ping");
    }
}

/// RELIABILITY.md case 15: a 16-buffer ring while 1,000 connections send at once. No caller
/// sees `ENOBUFS` (receives that find the ring empty fall back to their own buffer), no byte
/// is lost or reordered, and every lent buffer goes back to the ring.
#[test]
fn a_sixteen_buffer_ring_under_a_thousand_senders_loses_nothing() {
    use std::cell::Cell;
    use std::rc::Rc;

    const BUFFERS: u16 = 16;
    const MSG: usize = 4096;
    // Both ends of every connection live in this process.
    let conns = thousand_or_what_nofile_allows();
    let driver_io = DriverConfig {
        test_buffers: Some(BUFFERS),
        ..DriverConfig::default()
    };
    let mut rt = Runtime::builder()
        .config(RuntimeConfig {
            driver_io,
            ..RuntimeConfig::default()
        })
        .worker_threads(1)
        .driver_type(DriverType::IOUring)
        .build()
        .expect("io_uring must be available on this machine");
    let (starved, lent) = rt
        .block_on(async move {
            // Everything on the block_on thread, whose ring has the 16 buffers.
            let caps = crate::driver::with_uring(|d| d.capabilities()).expect("io_uring");
            assert_eq!(caps.buffer_ring.map(|(n, _)| n), Some(BUFFERS));
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let mut clients = Vec::with_capacity(conns);
            let mut servers = Vec::with_capacity(conns);
            for _ in 0..conns {
                clients.push(TcpStream::connect(addr).await?);
                servers.push(listener.accept().await?.0);
            }
            // Every reader waits in the kernel before any byte is sent.
            let ok = Rc::new(Cell::new(0usize));
            let mut readers = Vec::with_capacity(conns);
            for (i, mut server) in servers.into_iter().enumerate() {
                let ok = ok.clone();
                readers.push(crate::spawn_local(async move {
                    let mut got = vec![0u8; MSG];
                    server.read_exact(&mut got).await?;
                    let want = pattern(i, MSG);
                    assert!(got == want, "connection {i}: bytes lost or reordered");
                    ok.set(ok.get() + 1);
                    std::io::Result::Ok(())
                }));
            }
            crate::yield_now().await;
            // All clients send at once: far more receives complete than the ring has buffers.
            let mut writers = Vec::with_capacity(conns);
            for (i, mut client) in clients.into_iter().enumerate() {
                writers.push(crate::spawn_local(async move {
                    client.write_all(&pattern(i, MSG)).await?;
                    std::io::Result::Ok(client)
                }));
            }
            let mut keep = Vec::with_capacity(conns);
            for w in writers {
                keep.push(w.wait().await.expect("writer task")?);
            }
            for r in readers {
                r.wait().await.expect("reader task")?;
            }
            assert_eq!(ok.get(), conns);
            drop(keep);
            let (starved, lent) = crate::driver::with_uring(|d| {
                let (pool, ring) = d.pool();
                pool.recycle(ring);
                (pool.starved, pool.lent())
            })
            .expect("io_uring");
            std::io::Result::Ok((starved, lent))
        })
        .unwrap()
        .unwrap();
    eprintln!("{conns} connections on a {BUFFERS}-buffer ring: {starved} receives found it empty");
    assert!(
        starved > 0,
        "the ring was never exhausted: the test proves nothing"
    );
    assert_eq!(lent, 0, "buffers not given back to the ring");
}

/// `i`'s message: bytes that differ per connection and per offset.
fn pattern(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i * 31 + k * 7) as u8).collect()
}

/// 1,000 connections (2,000 descriptors), or as many as `RLIMIT_NOFILE` allows after
/// raising the soft limit to the hard one.
fn thousand_or_what_nofile_allows() -> usize {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a live, writable rlimit for the call.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    if r.rlim_cur < r.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: r.rlim_max,
            rlim_max: r.rlim_max,
        };
        // SAFETY: `raised` is a live rlimit for the call; the kernel only reads it. Raising
        // the soft limit cannot hurt the other tests of the binary.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            r.rlim_cur = r.rlim_max;
        }
    }
    let room = (r.rlim_cur as usize).saturating_sub(256) / 2;
    room.min(1000)
}
