//! The HTTP/1.1 plaintext server (`Hello, World!` to every request), serving on every
//! worker: one `SO_REUSEPORT` listener per worker, each with its own accept loop, every
//! connection served on the worker that accepted it.
//!
//! ```text
//! cargo run --release --example http_server -- --addr 127.0.0.1:8080 --workers 2 --driver uring
//! curl http://127.0.0.1:8080/plaintext
//! ```
//!
//! It prints `listening on ADDR (driver, N workers)` and serves until SIGINT or SIGTERM,
//! then stops accepting, gives open connections 5 s to finish, and exits 0.
//! Keep-alive is the default; pipelined requests are answered in order, the responses to
//! all the complete requests of one read going out in one write; `Connection: close` is
//! honoured; malformed input gets `400 Bad Request` and the connection is closed (a
//! lingering close, so that the client reads the response before any reset). The
//! protocol code is `support/http.rs`, shared with the tokio and monoio peers of `perf/run`.

#[path = "support/args.rs"]
mod args;
#[path = "support/http.rs"]
mod http;
#[path = "support/http_conn.rs"]
mod http_conn;
#[path = "support/serve.rs"]
mod serve;

use hiver_runtime::io::TcpStream;

async fn handle(stream: TcpStream) -> std::io::Result<()> {
    http_conn::serve_http(stream, std::time::Duration::ZERO, None).await
}

fn main() -> std::io::Result<()> {
    let args = args::Args::parse("http_server", &[]);
    serve::serve_until_signal(&args, handle)
}
