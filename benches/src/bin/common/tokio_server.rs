//! The two tokio flavors of a peer server: `--flavor mt` is tokio's multi-thread runtime
//! with `--workers` worker threads and one listener (the accept loop runs as a task on the
//! workers); `--flavor ct` is one current-thread runtime per worker thread, each with its
//! own `SO_REUSEPORT` listener, as hiver and monoio serve.

use std::future::Future;
use std::io;

use tokio::net::{TcpListener, TcpStream};

use crate::common;

/// Parses the command line and serves every connection with `serve` until killed.
pub(crate) fn run<F, Fut>(name: &str, serve: F) -> !
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let args = common::Args::parse(name, &[("flavor", &["mt", "ct"])]);
    let workers = args.workers;
    let result = match args.get("flavor").unwrap_or("mt") {
        "ct" => current_thread_per_core(&args.addr, workers, serve),
        _ => multi_thread(&args.addr, workers, serve),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => common::fail(name, &e),
    }
}

fn multi_thread<F, Fut>(addr: &str, workers: usize, serve: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let (mut listeners, addr) = common::listeners(addr, 1)?;
    let listener = listeners.remove(0);
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    println!("listening on {addr} (tokio multi-thread, {workers} workers)");
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener)?;
        tokio::spawn(accept_loop(listener, serve))
            .await
            .map_err(io::Error::other)
    })
}

fn current_thread_per_core<F, Fut>(addr: &str, workers: usize, serve: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let (listeners, addr) = common::listeners(addr, workers)?;
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        threads.push(
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        let listener = TcpListener::from_std(listener)?;
                        accept_loop(listener, serve).await;
                        Ok::<_, io::Error>(())
                    })
                })?,
        );
    }
    println!("listening on {addr} (tokio current-thread per core, {workers} workers)");
    for t in threads {
        t.join()
            .map_err(|_| io::Error::other("a worker panicked"))??;
    }
    Ok(())
}

async fn accept_loop<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    if let Err(e) = serve(stream).await {
                        common::report(&e);
                    }
                });
            }
            Err(e) => {
                // EMFILE and friends: report, back off a little, keep serving.
                eprintln!("accept error: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
