//! The guide's TCP echo server, serving on every worker: one `SO_REUSEPORT` listener per
//! worker, each with its own accept loop, so that the kernel spreads connections across
//! the cores.
//!
//! ```text
//! cargo run --release --example echo_server -- --addr 127.0.0.1:8080 --workers 2 --driver uring
//! ```
//!
//! It prints `listening on ADDR (driver, N workers)` and serves until it is killed.

#[path = "support/args.rs"]
mod args;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::spawn_on;

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                hiver_runtime::spawn_local(async move {
                    if let Err(e) = serve(stream).await {
                        eprintln!("connection error: {e}");
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

fn main() -> std::io::Result<()> {
    let args = args::Args::parse("echo_server", &[]);
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
            loops.push(spawn_on(i, accept_loop(l))?);
        }
        for h in loops {
            let _ = h.await;
        }
        Ok::<_, std::io::Error>(())
    })?
}
