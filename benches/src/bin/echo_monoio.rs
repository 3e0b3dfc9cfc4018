//! The TCP echo server on monoio (io_uring driver, `COOP_TASKRUN`), the peer of hiver's
//! `echo_server` example in `perf/run`. Linux only.
//!
//! ```text
//! echo_monoio [--addr HOST:PORT] [--workers N] [--coop-taskrun on|off]
//! ```
//!
//! One thread per worker, each with its own runtime and `SO_REUSEPORT` listener. Prints
//! `listening on ADDR (...)` and serves until killed.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
#[path = "common/monoio_server.rs"]
mod monoio_server;

#[cfg(target_os = "linux")]
async fn serve(mut stream: monoio::net::TcpStream) -> std::io::Result<()> {
    use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
    // monoio reads into owned buffers: a Vec's capacity, from its start.
    let mut buf = Vec::with_capacity(common::READ_BUF_SIZE);
    loop {
        let (res, b) = stream.read(buf).await;
        buf = b;
        if res? == 0 {
            return Ok(());
        }
        let (res, b) = stream.write_all(buf).await;
        buf = b;
        res?;
        buf.clear();
    }
}

#[cfg(target_os = "linux")]
fn main() {
    monoio_server::run("echo_monoio", serve)
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("echo_monoio: Linux only (monoio's io_uring driver)");
    std::process::exit(2)
}
