//! The guide's TCP echo server, serving on every worker: one `SO_REUSEPORT` listener per
//! worker, each with its own accept loop, so that the kernel spreads connections across
//! the cores.
//!
//! ```text
//! cargo run --release --example echo_server -- --addr 127.0.0.1:8080 --workers 2 --driver uring
//! ```
//!
//! It prints `listening on ADDR (driver, N workers)` and serves until SIGINT or SIGTERM,
//! then stops accepting, gives open connections 5 s to finish, and exits 0.

#[path = "support/args.rs"]
mod args;
#[path = "support/serve.rs"]
mod serve;

use hiver_runtime::io::TcpStream;

async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn main() -> std::io::Result<()> {
    let args = args::Args::parse("echo_server", &[]);
    serve::serve_until_signal(&args, handle)
}
