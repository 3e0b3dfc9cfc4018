//! Half-close, on each driver: when the peer shuts its write side down, our reads return
//! the bytes it sent and then 0 (and 0 again); our side can still write, and the peer
//! receives every byte. The same with the write half of `into_split` dropped instead of
//! an explicit shutdown.

use std::io::{self, ErrorKind};
use std::net::Shutdown;

use hiver_runtime::spawn;

use crate::support::{drivers, pair, pattern, run, serial};

const REQUEST: usize = 100 * 1024;
const RESPONSE: usize = 1 << 20;

#[test]
fn after_the_peer_shuts_down_writing_we_read_zero_and_can_still_write() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 2, "half-close", async {
            let (mut client, mut server) = pair().await?;
            let peer = spawn(async move {
                client.write_all(&pattern(REQUEST, 1)).await?;
                client.shutdown(Shutdown::Write)?;
                // Our own side is shut: writing again is refused.
                let err = client
                    .write(b"late")
                    .await
                    .expect_err("write after shutdown");
                assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
                let mut got = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                for _ in 0..=RESPONSE {
                    let n = client.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                Ok::<_, io::Error>(got)
            });

            let mut got = Vec::new();
            let mut buf = vec![0u8; 8 * 1024];
            for _ in 0..=REQUEST {
                let n = server.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert!(got == pattern(REQUEST, 1), "{driver}: the request, then 0");
            assert_eq!(server.read(&mut buf).await?, 0, "{driver}: 0 again");

            server.write_all(&pattern(RESPONSE, 2)).await?;
            server.shutdown(Shutdown::Write)?;
            let received = peer.await.expect("peer task")?;
            assert_eq!(
                received.len(),
                RESPONSE,
                "{driver}: bytes the peer received"
            );
            assert!(received == pattern(RESPONSE, 2), "{driver}: the response");
            Ok(())
        });
    }
}

#[test]
fn dropping_the_owned_write_half_is_a_half_close() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 2, "half-close by dropping the write half", async {
            let (client, mut server) = pair().await?;
            let (mut rd, mut wr) = client.into_split();
            let writer = spawn(async move {
                wr.write_all(&pattern(REQUEST, 3)).await
                // `wr` dropped here: the write side is shut down.
            });

            let mut got = vec![0u8; REQUEST];
            server.read_exact(&mut got).await?;
            assert!(got == pattern(REQUEST, 3), "{driver}: the request");
            assert_eq!(
                server.read(&mut got).await?,
                0,
                "{driver}: then end of stream"
            );
            writer.await.expect("writer task")?;

            // The read half still reads what the server writes after that.
            let reply = pattern(RESPONSE, 4);
            let (sent, received) = crate::support::join2(
                async {
                    server.write_all(&reply).await?;
                    drop(server);
                    Ok::<_, io::Error>(())
                },
                async {
                    let mut got = Vec::new();
                    let mut buf = vec![0u8; 32 * 1024];
                    for _ in 0..=RESPONSE {
                        let n = rd.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    Ok::<_, io::Error>(got)
                },
            )
            .await;
            sent?;
            let received = received?;
            assert_eq!(
                received.len(),
                RESPONSE,
                "{driver}: bytes after the half-close"
            );
            assert!(received == reply, "{driver}: the reply");
            Ok(())
        });
    }
}
