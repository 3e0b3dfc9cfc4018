//! One HTTP/1.1 connection served on hiver with the shared protocol code (`http.rs`):
//! requests answered in order, `Connection: close` honoured, a lingering close at the end.
//! With a shutdown signal, a connection idle between requests when the runtime begins its
//! graceful shutdown is closed, and one in the middle of a request is answered first.

use std::io;
use std::time::Duration;

use hiver_runtime::io::{Shutdown, TcpStream};
use hiver_runtime::select::SelectTwoOutput;
use hiver_runtime::{select_two, ShutdownSignal};

use super::http;

/// Serves `stream` until the client closes it, a response says close, or (with `stop`) the
/// shutdown finds it idle. `work`: simulated work before each batch of responses (0: none;
/// else `working on a request` is printed as it starts).
pub(crate) async fn serve_http(
    mut stream: TcpStream,
    work: Duration,
    mut stop: Option<ShutdownSignal>,
) -> io::Result<()> {
    let mut conn = http::Conn::new();
    let mut out = Vec::with_capacity(http::READ_BUF_SIZE);
    loop {
        let n = match &mut stop {
            // Idle between requests: the shutdown may close the connection here. `read` is
            // cancel-safe, so losing the race loses no byte.
            Some(stop) if conn.pending().is_empty() => {
                match select_two(stream.read(conn.spare()), stop).await {
                    SelectTwoOutput::First(r) => r?,
                    SelectTwoOutput::Second(()) => break,
                }
            }
            // Part of a request is here (or no shutdown to watch): read on.
            _ => stream.read(conn.spare()).await?,
        };
        if n == 0 {
            return Ok(());
        }
        conn.filled(n);
        out.clear();
        let next = conn.process(&mut out);
        if !out.is_empty() {
            if !work.is_zero() {
                println!("working on a request");
                hiver_runtime::sleep(work).await;
            }
            stream.write_all(&out).await?;
        }
        if next == http::Next::Close || stop.as_ref().is_some_and(ShutdownSignal::is_triggered) {
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
