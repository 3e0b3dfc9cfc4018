//! The monoio peer server: one thread per worker, each with its own monoio runtime on the
//! io_uring driver and its own `SO_REUSEPORT` listener. The ring is set up with
//! `IORING_SETUP_COOP_TASKRUN` (monoio's best on this machine, `IO_URING.md` §13) unless
//! `--coop-taskrun off`; a kernel that refuses the flag gets a ring without it, and the
//! `listening on` line says which.

use std::future::Future;
use std::io;

use monoio::net::{TcpListener, TcpStream};
use monoio::{IoUringDriver, Runtime, RuntimeBuilder};

use crate::common;

/// Parses the command line and serves every connection with `serve` until killed.
pub(crate) fn run<F, Fut>(name: &str, serve: F) -> !
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    let args = common::Args::parse(name, &[("coop-taskrun", &["on", "off"])]);
    let coop = args.get("coop-taskrun") != Some("off");
    match serve_all(&args.addr, args.workers, coop, serve) {
        Ok(()) => std::process::exit(0),
        Err(e) => common::fail(name, &e),
    }
}

/// A runtime on the io_uring driver, with COOP_TASKRUN if asked and the kernel takes it;
/// and whether it has it.
fn runtime(coop: bool) -> io::Result<(Runtime<IoUringDriver>, bool)> {
    if coop {
        let mut ring = io_uring::IoUring::builder();
        ring.setup_coop_taskrun();
        match RuntimeBuilder::<IoUringDriver>::new()
            .uring_builder(ring)
            .build()
        {
            Ok(rt) => return Ok((rt, true)),
            Err(e) if e.raw_os_error() == Some(22) => {} // EINVAL: older kernel
            Err(e) => return Err(e),
        }
    }
    Ok((RuntimeBuilder::<IoUringDriver>::new().build()?, false))
}

fn serve_all<F, Fut>(addr: &str, workers: usize, coop: bool, serve: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    let (listeners, addr) = common::listeners(addr, workers)?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let ready = ready_tx.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || -> io::Result<()> {
                    let (mut runtime, with_coop) = match runtime(coop) {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = ready.send(Err(io::Error::new(e.kind(), e.to_string())));
                            return Err(e);
                        }
                    };
                    let _ = ready.send(Ok(with_coop));
                    runtime.block_on(async move {
                        let listener = TcpListener::from_std(listener)?;
                        accept_loop(listener, serve).await;
                        Ok(())
                    })
                })?,
        );
    }
    drop(ready_tx);
    let mut all_coop = true;
    for _ in 0..workers {
        match ready_rx.recv() {
            Ok(Ok(with_coop)) => all_coop &= with_coop,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(io::Error::other(
                    "a worker exited before its runtime was up",
                ))
            }
        }
    }
    let flags = if all_coop {
        "COOP_TASKRUN"
    } else {
        "no setup flags"
    };
    println!("listening on {addr} (monoio io_uring, {flags}, {workers} workers)");
    for t in threads {
        t.join()
            .map_err(|_| io::Error::other("a worker panicked"))??;
    }
    Ok(())
}

async fn accept_loop<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut + Copy + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                monoio::spawn(async move {
                    if let Err(e) = serve(stream).await {
                        common::report(&e);
                    }
                });
            }
            Err(e) => {
                // EMFILE and friends: report, back off a little (no timer driver: the
                // thread sleeps), keep serving.
                eprintln!("accept error: {e}");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}
