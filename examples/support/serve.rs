//! The accept side the example servers share: one `SO_REUSEPORT` listener per worker, an
//! accept loop on each worker, and every connection served (`spawn_local`) on the worker
//! that accepted it. Prints `listening on ADDR (driver, N workers)`, then serves until killed.

use std::future::Future;
use std::io;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::spawn_on;

use super::args::Args;

/// Serves every connection with `serve` on the runtime `args` describe.
pub(crate) fn serve_forever<F, Fut>(args: &Args, serve: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    let mut runtime = args.runtime()?;
    let workers = runtime.worker_threads();
    let driver = runtime.driver_type();
    runtime.block_on(async {
        let first = TcpListener::bind_reuseport(args.addr.as_str()).await?;
        let addr = first.local_addr()?;
        println!("listening on {addr} ({driver}, {workers} workers)");
        let mut listeners = vec![first];
        for _ in 1..workers {
            listeners.push(TcpListener::bind_reuseport(addr).await?);
        }
        let mut loops = Vec::new();
        for (i, l) in listeners.into_iter().enumerate() {
            loops.push(spawn_on(i, accept_loop(l, serve))?);
        }
        for h in loops {
            let _ = h.await;
        }
        Ok::<_, io::Error>(())
    })?
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
                hiver_runtime::spawn_local(async move {
                    if let Err(e) = serve(stream).await {
                        // A client resetting the connection is routine for a server.
                        use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
                        if !matches!(e.kind(), ConnectionReset | BrokenPipe) {
                            eprintln!("connection error: {e}");
                        }
                    }
                });
            }
            Err(e) => {
                // EMFILE and friends: report, back off a little, keep serving.
                eprintln!("accept error: {e}");
                hiver_runtime::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
