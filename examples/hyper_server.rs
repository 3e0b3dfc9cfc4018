//! An HTTP/1.1 server written with hyper 1.x, on hiver: hyper's own connection code
//! (`hyper::server::conn::http1`) over hiver's streams, timers and tasks through
//! `hiver_runtime::compat` (feature `hyper`). `Hello, World!` to every request, with
//! keep-alive.
//!
//! ```text
//! cargo run --release --features hyper --example hyper_server -- --addr 127.0.0.1:8080
//! curl http://127.0.0.1:8080/ http://127.0.0.1:8080/   # two requests, one connection
//! ```
//!
//! The example servers' command line (`--addr`, `--workers`, `--driver`) and accept side
//! (one `SO_REUSEPORT` listener per worker, each connection served on the worker that
//! accepted it). It prints `listening on ADDR (driver, N workers)` and serves until SIGINT
//! or SIGTERM; then each connection finishes the request it is answering and closes
//! (hyper's graceful shutdown: idle keep-alive connections close at once), and the
//! process exits 0.

#[path = "support/args.rs"]
mod args;
#[path = "support/hyper_hello.rs"]
mod hyper_hello;
#[path = "support/serve.rs"]
mod serve;

use std::io;
use std::pin::pin;

use hiver_runtime::compat::{HyperIo, HyperTimer};
use hiver_runtime::io::TcpStream;
use hiver_runtime::select::SelectTwoOutput;
use hiver_runtime::{select_two, shutdown_signal};
use hyper::server::conn::http1;
use hyper::service::service_fn;

async fn handle(stream: TcpStream) -> io::Result<()> {
    let mut stop = shutdown_signal();
    let mut builder = http1::Builder::new();
    builder
        .timer(HyperTimer)
        .header_read_timeout(hyper_hello::HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(HyperIo::new(stream), service_fn(hyper_hello::hello));
    let mut conn = pin!(conn);
    let served = match select_two(conn.as_mut(), &mut stop).await {
        SelectTwoOutput::First(r) => r,
        SelectTwoOutput::Second(()) => {
            // Shutting down: finish the request in progress, if any, then close.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    match served {
        Err(e) if !hyper_hello::is_routine(&e) => Err(io::Error::other(e)),
        _ => Ok(()),
    }
}

fn main() -> io::Result<()> {
    let args = args::Args::parse("hyper_server", &[]);
    serve::serve_until_signal(&args, handle)
}
