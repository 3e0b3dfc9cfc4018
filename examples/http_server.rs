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
#[path = "support/serve.rs"]
mod serve;

use hiver_runtime::io::{Shutdown, TcpStream};

async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
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
    stream.shutdown(Shutdown::Write)?;
    let mut drained = 0;
    while drained < http::LINGER_BYTES {
        match stream.read(conn.discard()).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args = args::Args::parse("http_server", &[]);
    serve::serve_until_signal(&args, handle)
}
