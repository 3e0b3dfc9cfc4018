//! 1,000 connections open at once, on each driver: all connected, and each having echoed
//! one small message, before any of them is closed.
//!
//! Client tasks connect, send a message naming them and read it back, then hand their
//! stream to the test, which holds all 1,000 while it checks that the server's 1,000
//! per-connection tasks are all still running and that the process really has the 2,000
//! sockets open. Then the clients are dropped, and every server task ends at end of stream
//! having echoed exactly its client's message.

use std::collections::HashSet;
use std::io;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::spawn;

use crate::support::{drivers, open_fds, run, serial};

const CONNS: usize = 1000;

fn message(i: usize) -> Vec<u8> {
    format!("hello from client {i:04}").into_bytes()
}

/// Echoes until end of stream; returns the bytes echoed.
async fn echo(mut stream: TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; 256];
    let mut echoed = Vec::new();
    for _ in 0..=buf.len() {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(echoed);
        }
        stream.write_all(&buf[..n]).await?;
        echoed.extend_from_slice(&buf[..n]);
    }
    Err(io::Error::other("echo: more reads than bytes sent"))
}

#[test]
fn a_thousand_connections_open_at_once() {
    let _serial = serial();
    // Two descriptors a connection, and the runtime's own.
    #[cfg(target_os = "linux")]
    let _limit = crate::support::raise_nofile(4096);
    for driver in drivers() {
        run(driver, 2, "1,000 connections", async {
            let before = open_fds();
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = spawn(async move {
                let mut conns = Vec::with_capacity(CONNS);
                for _ in 0..CONNS {
                    let (stream, peer) = listener.accept().await?;
                    assert_eq!(stream.peer_addr()?, peer);
                    conns.push(spawn(echo(stream)));
                }
                Ok::<_, io::Error>(conns)
            });
            let clients: Vec<_> = (0..CONNS)
                .map(|i| {
                    spawn(async move {
                        let mut stream = TcpStream::connect(addr).await?;
                        let msg = message(i);
                        stream.write_all(&msg).await?;
                        let mut back = vec![0u8; msg.len()];
                        stream.read_exact(&mut back).await?;
                        assert_eq!(back, msg, "client {i}: echo");
                        Ok::<_, io::Error>(stream)
                    })
                })
                .collect();
            let mut streams = Vec::with_capacity(CONNS);
            for (i, c) in clients.into_iter().enumerate() {
                let stream = c
                    .await
                    .expect("client task")
                    .map_err(|e| io::Error::new(e.kind(), format!("client {i}: {e}")))?;
                streams.push(stream);
            }
            let conns = server.await.expect("server task")?;

            // All 1,000 have echoed, and none is closed.
            let open = open_fds();
            assert!(
                open >= before + 2 * CONNS,
                "{driver}: {open} descriptors open with {CONNS} connections held ({before} before them)"
            );
            let running = conns.iter().filter(|c| !c.is_finished()).count();
            assert_eq!(running, CONNS, "{driver}: server tasks still serving");
            let locals: HashSet<_> = streams
                .iter()
                .map(|s| s.local_addr().expect("local_addr"))
                .collect();
            assert_eq!(locals.len(), CONNS, "{driver}: distinct client addresses");
            for s in &streams {
                assert_eq!(s.peer_addr()?, addr);
            }

            // Close them all: every server task sees end of stream.
            drop(streams);
            let mut seen = HashSet::new();
            for c in conns {
                let echoed = c.await.expect("echo task")?;
                assert!(seen.insert(echoed), "{driver}: a message echoed twice");
            }
            let expected: HashSet<_> = (0..CONNS).map(message).collect();
            assert_eq!(
                seen, expected,
                "{driver}: the server echoed each message once"
            );
            Ok(())
        });
    }
}
