#![cfg(target_os = "linux")]
//! io_uring's provided-buffer ring (256 buffers per worker) running dry (RELIABILITY.md
//! 3.15): receives that find it empty (`ENOBUFS`) fall back to a receive with a buffer of
//! their own, and every byte still arrives: users never see `ENOBUFS`. The worker is held
//! busy while 1,000 peers send, so that all 1,000 receives complete in one batch, about
//! four times what the ring holds. Then every buffer is back in the ring: receives made one
//! at a time on every connection never find it empty.
//!
//! The case asks for a 16-buffer ring; the ring's size is a constant of the driver
//! (`driver::uring::buf::COUNT`), not a setting of `DriverConfig` or the `Builder`, so the
//! test makes up the ratio with more connections instead.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::io::TcpListener;
use hiver_runtime::{spawn_on, DriverType};

use crate::support::{
    assert_no_fd_leak, open_fds, raise_nofile, runtime, serial, within, yield_now,
};

const CONNS: usize = 1_000;

#[test]
fn an_empty_buffer_ring_falls_back_and_loses_nothing() {
    let _serial = serial();
    let _nofile = raise_nofile(4 * CONNS as u64 + 256);
    let driver = DriverType::IOUring;
    let before = open_fds();
    let mut rt = runtime(driver, 1);
    let burst = rt
        .block_on(within("ENOBUFS fallback", async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let mut peers = Vec::new();
            let mut streams = Vec::new();
            for _ in 0..CONNS {
                peers.push(std::net::TcpStream::connect(addr)?);
                streams.push(listener.accept().await?.0);
            }
            // Every reader on the worker, its receive in the kernel.
            let started = Arc::new(AtomicUsize::new(0));
            let mut readers = Vec::new();
            for (i, mut s) in streams.into_iter().enumerate() {
                let started = started.clone();
                readers.push(spawn_on(0, async move {
                    let mut buf = [0u8; 100];
                    started.fetch_add(1, Ordering::SeqCst);
                    s.read_exact(&mut buf).await?;
                    assert_eq!(buf, [i as u8; 100], "reader {i}");
                    Ok::<_, std::io::Error>(s)
                })?);
            }
            while started.load(Ordering::SeqCst) < CONNS {
                yield_now().await;
            }
            // Hold the worker while every peer sends, then let it take them all at once.
            let go = Arc::new(AtomicBool::new(false));
            let hold = {
                let go = go.clone();
                spawn_on(0, async move {
                    while !go.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                })?
            };
            let sender = std::thread::spawn(move || {
                for (i, p) in peers.iter_mut().enumerate() {
                    p.write_all(&[i as u8; 100]).unwrap();
                }
                go.store(true, Ordering::SeqCst);
                peers
            });
            hold.await.unwrap();
            let mut streams = Vec::new();
            for r in readers {
                streams.push(r.await.unwrap()?);
            }
            let peers = sender.join().unwrap();
            Ok::<_, std::io::Error>((streams, peers))
        }))
        .unwrap()
        .unwrap();
    let starved_burst = rt.metrics().workers()[0].buf_starved;

    // Every buffer went back to the ring: one receive at a time on every connection (the
    // peer sends only once the previous receive is done) never finds it empty.
    let (mut streams, mut peers) = burst;
    rt.block_on(within("one receive at a time", async move {
        spawn_on(0, async move {
            for (i, (s, p)) in streams.iter_mut().zip(&mut peers).enumerate() {
                p.write_all(&[!(i as u8); 100])?;
                let mut buf = [0u8; 100];
                s.read_exact(&mut buf).await?;
                assert_eq!(buf, [!(i as u8); 100], "reader {i}, one at a time");
            }
            drop((streams, peers));
            Ok::<_, std::io::Error>(())
        })?
        .await
        .unwrap()
    }))
    .unwrap()
    .unwrap();
    let starved = rt.metrics().workers()[0].buf_starved;
    drop(rt);
    assert_no_fd_leak(before, "ENOBUFS fallback");
    println!(
        "receives that found the buffer ring empty: {starved_burst} in the burst of {CONNS}, \
         {} in {CONNS} receives one at a time after it",
        starved - starved_burst
    );
    assert!(starved_burst > 0, "the fallback path ran");
    assert_eq!(
        starved, starved_burst,
        "receives made one at a time after the burst found the ring empty: buffers were \
         not given back"
    );
}
