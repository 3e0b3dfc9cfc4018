//! hyper's HTTP/1.1 server on hiver (`hiver_runtime::compat`), `perf/run`'s `hyper-hiver`:
//! the service and connection settings of `examples/support/hyper_hello.rs`, shared with
//! `hyper_tokio`, and the accept side of hiver's example servers (one `SO_REUSEPORT`
//! listener per worker, connections served on the accepting worker).
//!
//! ```text
//! hyper_hiver [--addr HOST:PORT] [--workers N] [--driver auto|uring|epoll]
//! ```
//!
//! Prints `listening on ADDR (...)` and serves until SIGINT or SIGTERM.

#[path = "../../../examples/support/args.rs"]
mod args;
#[path = "../../../examples/support/hyper_hello.rs"]
mod hyper_hello;
#[path = "../../../examples/support/serve.rs"]
mod serve;

use hiver_runtime::compat::{HyperIo, HyperTimer};
use hiver_runtime::io::TcpStream;

async fn handle(stream: TcpStream) -> std::io::Result<()> {
    hyper_hello::serve(HyperIo::new(stream), HyperTimer).await
}

fn main() -> std::io::Result<()> {
    let args = args::Args::parse("hyper_hiver", &[]);
    serve::serve_until_signal(&args, handle)
}
