//! Item 4: under load, 10% of the request tasks panic. The server keeps answering every
//! other request, and each panic is reported through its `JoinHandle`: the server counts
//! exactly the requests that panicked (their payload included), the clients get an error
//! reply for exactly those, and a right answer for all others.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::spawn;

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, quiet_intended_panics, runtime, serial, within, INTENDED,
};

const CONNS: u64 = 50;
const REQUESTS: u64 = 40; // per connection
const FAILED: u64 = u64::MAX;

/// Request `id` panics when `id % 10 == 3`, else answers `id * 3 + 1`.
fn handle(id: u64) -> u64 {
    if id % 10 == 3 {
        panic!("{INTENDED}: request {id}");
    }
    id * 3 + 1
}

/// Reads 8-byte request ids; each is handled by its own task, whose panic is reported
/// through its handle: counted (payload checked) and answered with `FAILED`.
async fn serve_conn(mut s: TcpStream, panics: Arc<AtomicU64>) -> io::Result<()> {
    let mut buf = [0u8; 8];
    loop {
        match s.read_exact(&mut buf).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let id = u64::from_le_bytes(buf);
        let reply = match spawn(async move { handle(id) }).await {
            Ok(v) => v,
            Err(e) if e.is_panic() => {
                let p = e.into_panic();
                let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
                assert_eq!(msg, format!("{INTENDED}: request {id}"), "the payload");
                panics.fetch_add(1, Ordering::SeqCst);
                FAILED
            }
            Err(e) => return Err(io::Error::other(format!("request {id}: {e}"))),
        };
        s.write_all(&reply.to_le_bytes()).await?;
    }
}

async fn client(addr: std::net::SocketAddr, conn: u64) -> io::Result<(u64, u64)> {
    let mut s = TcpStream::connect(addr).await?;
    let (mut ok, mut failed) = (0, 0);
    for r in 0..REQUESTS {
        let id = conn * REQUESTS + r;
        s.write_all(&id.to_le_bytes()).await?;
        let mut back = [0u8; 8];
        s.read_exact(&mut back).await?;
        let got = u64::from_le_bytes(back);
        if id % 10 == 3 {
            assert_eq!(got, FAILED, "request {id} panicked: an error reply");
            failed += 1;
        } else {
            assert_eq!(got, id * 3 + 1, "request {id}");
            ok += 1;
        }
    }
    Ok((ok, failed))
}

#[test]
fn a_tenth_of_requests_panic_and_every_panic_is_reported() {
    let _serial = serial();
    quiet_intended_panics();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let panics = Arc::new(AtomicU64::new(0));
        let p = panics.clone();
        let (ok, failed) = rt
            .block_on(within("panicking requests", async move {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let addr = l.local_addr()?;
                let server = spawn(async move {
                    let mut conns = Vec::new();
                    for _ in 0..CONNS {
                        let (s, _) = l.accept().await?;
                        conns.push(spawn(serve_conn(s, p.clone())));
                    }
                    for c in conns {
                        c.await.expect("connection task")?;
                    }
                    Ok::<_, io::Error>(())
                });
                let clients: Vec<_> = (0..CONNS).map(|c| spawn(client(addr, c))).collect();
                let (mut ok, mut failed) = (0, 0);
                for c in clients {
                    let (o, f) = c.await.expect("client task")?;
                    ok += o;
                    failed += f;
                }
                server.await.expect("server task")?;
                Ok::<_, io::Error>((ok, failed))
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        let total = CONNS * REQUESTS;
        assert_eq!(failed, total / 10, "{driver}: error replies");
        assert_eq!(ok, total - total / 10, "{driver}: right answers");
        assert_eq!(
            panics.load(Ordering::SeqCst),
            total / 10,
            "{driver}: panics reported"
        );
        assert_no_fd_leak(before, format_args!("{driver}: panics"));
    }
}
