//! hyper's HTTP/1.1 server on tokio (hyper-util's `TokioIo` and `TokioTimer`), `perf/run`'s
//! `hyper-tokio`, the peer of `hyper_hiver`: the same service and connection settings
//! (`examples/support/hyper_hello.rs`).
//!
//! ```text
//! hyper_tokio [--addr HOST:PORT] [--workers N] [--flavor mt|ct]
//! ```
//!
//! Prints `listening on ADDR (...)` and serves until killed.

mod common;
#[path = "../../../examples/support/hyper_hello.rs"]
mod hyper_hello;
#[path = "common/tokio_server.rs"]
mod tokio_server;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

async fn serve(stream: TcpStream) -> std::io::Result<()> {
    hyper_hello::serve(TokioIo::new(stream), TokioTimer::new()).await
}

fn main() {
    tokio_server::run("hyper_tokio", serve)
}
