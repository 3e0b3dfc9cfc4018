//! TCP echo over loopback: hiver (io_uring, then epoll) against tokio, the same server code
//! on each, one server worker pinned to core 0, the load on core 1.
//!
//! Workloads: `tcp_echo/64B-x1` (one connection) and `tcp_echo/64B-x100` (100 connections
//! in flight at once), each 64-byte message echoed and checked. The load is a tokio
//! current-thread runtime on the bench thread, identical for every server. For hiver the
//! server worker's kernel entries (`io_uring_enter` / `epoll_wait`, from the runtime's own
//! counter) per round trip are printed after the table.
//!
//! This is the network issue's measurement of batching; the full comparison (CPU per
//! request, p99, monoio, HTTP) belongs to the performance command.

use std::cell::Cell;
use std::net::SocketAddr;

use hiver_benches::{compare, pin_current_thread, rounds, selected, Measure, Peer, Round};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MSG: usize = 64;
const TOTAL: u64 = 40_000;

async fn hiver_serve(mut s: hiver_runtime::io::TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n]).await?;
    }
}

async fn tokio_serve(mut s: tokio::net::TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n]).await?;
    }
}

/// A hiver echo server on one worker pinned to core 0; its address.
fn hiver_server(driver: hiver_runtime::DriverType) -> (hiver_runtime::Runtime, SocketAddr) {
    let config = hiver_runtime::RuntimeConfig {
        worker_threads: Some(1),
        driver_type: driver,
        driver_io: hiver_runtime::driver::DriverConfig::builder()
            .cpu_affinity(0)
            .build(),
        ..hiver_runtime::RuntimeConfig::default()
    };
    let mut rt = hiver_runtime::Runtime::builder()
        .config(config)
        .build()
        .expect("hiver runtime");
    let l = rt
        .block_on(hiver_runtime::io::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
        .unwrap();
    let addr = l.local_addr().unwrap();
    rt.spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let _ = s.set_nodelay(true);
            hiver_runtime::spawn_local(async move {
                let _ = hiver_serve(s).await;
            });
        }
    });
    (rt, addr)
}

/// A tokio echo server on one current-thread runtime on its own thread pinned to core 0.
fn tokio_server() -> (std::sync::mpsc::Sender<()>, SocketAddr) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _pin = pin_current_thread(Some(0));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(l.local_addr().unwrap()).unwrap();
            let stop = tokio::task::spawn_blocking(move || stop_rx.recv());
            tokio::select! {
                _ = async {
                    while let Ok((s, _)) = l.accept().await {
                        let _ = s.set_nodelay(true);
                        tokio::spawn(async move { let _ = tokio_serve(s).await; });
                    }
                } => {}
                _ = stop => {}
            }
        });
    });
    (stop_tx, addr_rx.recv().unwrap())
}

/// The load: `conns` connections, `TOTAL` round trips in all, each checked.
fn load(addr: SocketAddr, conns: usize) -> Round {
    let _pin = pin_current_thread(Some(1));
    let rt = hiver_benches::tokio_current_thread();
    rt.block_on(async move {
        let mut streams = Vec::new();
        for _ in 0..conns {
            let s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            streams.push(s);
        }
        let per = TOTAL / conns as u64;
        let start = std::time::Instant::now();
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                tokio::spawn(async move {
                    let mut buf = [0u8; MSG];
                    for k in 0..per {
                        let msg = [(i as u64 ^ k) as u8; MSG];
                        s.write_all(&msg).await.unwrap();
                        s.read_exact(&mut buf).await.unwrap();
                        assert_eq!(buf, msg, "echo corrupted");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        Round::time(start.elapsed())
    })
}

fn main() {
    println!(
        "# tcp_echo: one server worker on core 0, load on core 1, {MSG} B messages, {TOTAL} round trips per round, {} rounds + 1 warm-up; ratio = peer time / hiver time",
        rounds()
    );
    for conns in [1usize, 100] {
        let name = format!("tcp_echo/{MSG}B-x{conns}");
        if !selected(&name) {
            continue;
        }
        let (uring, uring_addr) = hiver_server(hiver_runtime::DriverType::IOUring);
        let (epoll, epoll_addr) = hiver_server(hiver_runtime::DriverType::Epoll);
        let (stop, tokio_addr) = tokio_server();
        let entries = |rt: &hiver_runtime::Runtime| rt.metrics().workers()[0].kernel_entries;
        let counted = [Cell::new((0u64, 0u64)), Cell::new((0u64, 0u64))];
        let per = TOTAL / conns as u64 * conns as u64;
        compare(
            &name,
            Measure::Throughput { ops: per },
            vec![
                Peer::new("hiver io_uring", || {
                    let e = entries(&uring);
                    let r = load(uring_addr, conns);
                    let (n, t) = counted[0].get();
                    counted[0].set((n + entries(&uring) - e, t + per));
                    r
                }),
                Peer::new("hiver epoll", || {
                    let e = entries(&epoll);
                    let r = load(epoll_addr, conns);
                    let (n, t) = counted[1].get();
                    counted[1].set((n + entries(&epoll) - e, t + per));
                    r
                }),
                Peer::new("tokio current-thread", || load(tokio_addr, conns)),
            ],
        );
        for (i, d) in ["io_uring_enter", "epoll_wait"].iter().enumerate() {
            let (n, t) = counted[i].get();
            println!(
                "hiver server {d} per round trip at {conns} connection(s): {:.3} ({n} in {t})",
                n as f64 / t as f64
            );
        }
        drop(stop);
        drop(uring);
        drop(epoll);
    }
}
