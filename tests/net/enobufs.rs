#![cfg(target_os = "linux")]
//! io_uring's provided-buffer ring (256 buffers per worker) running dry: receives that find
//! it empty (`ENOBUFS`) fall back to a receive with a buffer of their own, and every byte
//! still arrives. The worker is held busy while 400 peers send, so that all 400 receives
//! complete in one batch, more than the ring holds.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hiver_runtime::io::TcpListener;
use hiver_runtime::DriverType;

use crate::support::{raise_nofile, run_metrics, serial};

const CONNS: usize = 400;

#[test]
fn an_empty_buffer_ring_falls_back_and_loses_nothing() {
    let _serial = serial();
    let _nofile = raise_nofile(4 * CONNS as u64 + 256);
    let (_, metrics) = run_metrics(DriverType::IOUring, 1, "ENOBUFS fallback", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut peers = Vec::new();
        let mut streams = Vec::new();
        for _ in 0..CONNS {
            peers.push(std::net::TcpStream::connect(addr)?);
            streams.push(listener.accept().await?.0);
        }
        // Every reader on the worker, its receive in the kernel.
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut readers = Vec::new();
        for (i, mut s) in streams.into_iter().enumerate() {
            let started = started.clone();
            readers.push(hiver_runtime::spawn_on(0, async move {
                let mut buf = [0u8; 100];
                started.fetch_add(1, Ordering::SeqCst);
                s.read_exact(&mut buf).await?;
                assert_eq!(buf, [i as u8; 100], "reader {i}");
                Ok::<_, std::io::Error>(())
            })?);
        }
        while started.load(Ordering::SeqCst) < CONNS {
            crate::support::yield_now().await;
        }
        // Hold the worker while every peer sends, then let it take them all at once.
        let go = Arc::new(AtomicBool::new(false));
        let hold = {
            let go = go.clone();
            hiver_runtime::spawn_on(0, async move {
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
        for r in readers {
            r.await.unwrap()?;
        }
        drop(sender.join().unwrap());
        Ok(())
    });
    let starved = metrics.workers()[0].buf_starved;
    println!("receives that found the buffer ring empty: {starved}");
    assert!(starved > 0, "the fallback path ran");
}
