//! The HTTP/1.1 plaintext server on monoio (io_uring driver, `COOP_TASKRUN`), the peer of
//! hiver's `http_server` example in `perf/run`, with the same protocol code
//! (`examples/support/http.rs`). Linux only.
//!
//! ```text
//! http_monoio [--addr HOST:PORT] [--workers N] [--coop-taskrun on|off]
//! ```
//!
//! One thread per worker, each with its own runtime and `SO_REUSEPORT` listener. Prints
//! `listening on ADDR (...)` and serves until killed.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
#[path = "../../../examples/support/http.rs"]
mod http;
#[cfg(target_os = "linux")]
#[path = "common/monoio_server.rs"]
mod monoio_server;

#[cfg(target_os = "linux")]
async fn serve(mut stream: monoio::net::TcpStream) -> std::io::Result<()> {
    use monoio::buf::IoBufMut;
    use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
    let mut conn = http::Conn::new();
    let mut out = Vec::with_capacity(http::READ_BUF_SIZE);
    loop {
        // monoio reads into owned buffers: lend it the connection's buffer, read into the
        // free range, take it back (no copy).
        let range = conn.read_range();
        let (res, buf) = stream.read(conn.take_buffer().slice_mut(range)).await;
        conn.put_buffer(buf.into_inner());
        let n = res?;
        if n == 0 {
            return Ok(());
        }
        conn.filled(n);
        out.clear();
        let next = conn.process(&mut out);
        if !out.is_empty() {
            let (res, o) = stream.write_all(out).await;
            out = o;
            res?;
        }
        if next == http::Next::Close {
            break;
        }
    }
    // Lingering close (see `http::LINGER_BYTES`): our side first, then the client's.
    stream.shutdown().await?;
    conn.discard();
    let mut buf = conn.take_buffer();
    let mut drained = 0;
    while drained < http::LINGER_BYTES {
        let (res, b) = stream.read(buf).await;
        buf = b;
        match res {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn main() {
    monoio_server::run("http_monoio", serve)
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("http_monoio: Linux only (monoio's io_uring driver)");
    std::process::exit(2)
}
