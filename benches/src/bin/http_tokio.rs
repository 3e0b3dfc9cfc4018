//! The HTTP/1.1 plaintext server on tokio, the peer of hiver's `http_server` example in
//! `perf/run`, with the same protocol code (`examples/support/http.rs`).
//!
//! ```text
//! http_tokio [--addr HOST:PORT] [--workers N] [--flavor mt|ct]
//! ```
//!
//! `mt`: tokio's multi-thread runtime with N workers and one listener; `ct`: one
//! current-thread runtime per worker thread, each with its own `SO_REUSEPORT` listener.
//! Prints `listening on ADDR (...)` and serves until killed.

mod common;
#[path = "../../../examples/support/http.rs"]
mod http;
#[path = "common/tokio_server.rs"]
mod tokio_server;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut conn = http::Conn::new();
    let mut out = Vec::with_capacity(http::READ_BUF_SIZE);
    loop {
        let n = stream.read(conn.spare()).await?;
        if n == 0 {
            return Ok(());
        }
        conn.filled(n);
        out.clear();
        let next = conn.process(&mut out);
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        if next == http::Next::Close {
            break;
        }
    }
    // Lingering close (see `http::LINGER_BYTES`): our side first, then the client's.
    stream.shutdown().await?;
    let mut drained = 0;
    while drained < http::LINGER_BYTES {
        match stream.read(conn.discard()).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

fn main() {
    tokio_server::run("http_tokio", serve)
}
