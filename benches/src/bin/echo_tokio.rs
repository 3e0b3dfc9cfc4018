//! The TCP echo server on tokio, the peer of hiver's `echo_server` example in `perf/run`.
//!
//! ```text
//! echo_tokio [--addr HOST:PORT] [--workers N] [--flavor mt|ct]
//! ```
//!
//! `mt`: tokio's multi-thread runtime with N workers and one listener; `ct`: one
//! current-thread runtime per worker thread, each with its own `SO_REUSEPORT` listener.
//! Prints `listening on ADDR (...)` and serves until killed.

mod common;
#[path = "common/tokio_server.rs"]
mod tokio_server;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; common::READ_BUF_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn main() {
    tokio_server::run("echo_tokio", serve)
}
