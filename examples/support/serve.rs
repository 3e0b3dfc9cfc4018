//! The accept side the example servers share: one `SO_REUSEPORT` listener per worker, an
//! accept loop on each worker, and every connection served (`spawn_local`) on the worker
//! that accepted it. Prints `listening on ADDR (driver, N workers)`, serves until SIGINT or
//! SIGTERM, then prints `shutting down`, stops accepting and shuts the runtime down
//! gracefully (connections get `GRACE` to finish), and returns `Ok`: the process exits 0.

use std::future::Future;
use std::io;
use std::time::Duration;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::select::SelectTwoOutput;
use hiver_runtime::signal::{self, SignalKind};
use hiver_runtime::{select_two, shutdown_signal, spawn_on};

use super::args::Args;

/// How long connections may take to finish after a stop signal before they are cancelled.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// Serves every connection with `serve` on the runtime `args` describe, until SIGINT or
/// SIGTERM.
pub(crate) fn serve_until_signal<F, Fut>(args: &Args, serve: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    let mut runtime = args.runtime()?;
    let workers = runtime.worker_threads();
    let driver = runtime.driver_type();
    // Listening before anything is printed: a signal sent as soon as the address shows is
    // caught, never the default action.
    let mut interrupt = signal::signal(SignalKind::interrupt())?;
    let mut terminate = signal::signal(SignalKind::terminate())?;
    runtime.block_on(async {
        let first = TcpListener::bind_reuseport(args.addr.as_str()).await?;
        let addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..workers {
            listeners.push(TcpListener::bind_reuseport(addr).await?);
        }
        for (i, l) in listeners.into_iter().enumerate() {
            spawn_on(i, accept_loop(l, serve))?;
        }
        println!("listening on {addr} ({driver}, {workers} workers)");
        let _ = select_two(interrupt.recv(), terminate.recv()).await;
        println!("shutting down");
        Ok::<_, io::Error>(())
    })??;
    if !runtime.shutdown_timeout(GRACE) {
        eprintln!("connections still open after {GRACE:?} were closed");
    }
    Ok(())
}

/// Accepts until the runtime shuts down (the listener then closes: new connections are
/// refused while the open ones finish).
async fn accept_loop<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut + Copy + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    let mut stop = shutdown_signal();
    loop {
        let accepted = match select_two(listener.accept(), &mut stop).await {
            SelectTwoOutput::First(a) => a,
            SelectTwoOutput::Second(()) => return,
        };
        match accepted {
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
                hiver_runtime::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
