//! A stream's halves, owned buffers, vectored I/O, options and addresses, on each driver:
//! `split` halves reading and writing at once in one task; `into_split` halves in two
//! tasks, put back together by `reunite` (and `ReuniteError` for halves of two streams);
//! `read_owned`/`write_owned` and `read_vectored`/`write_vectored` round trips;
//! `set_nodelay`; and the two ends agreeing on their addresses.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, JoinHandle};

use crate::support::{drivers, join2, pair, pattern, run, serial};

const LEN: usize = 1 << 20;

/// An echo task on `stream` until end of stream; its output is the bytes echoed.
fn echo(mut stream: TcpStream) -> JoinHandle<io::Result<usize>> {
    spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0;
        for _ in 0..=4 * LEN {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(total);
            }
            stream.write_all(&buf[..n]).await?;
            total += n;
        }
        Err(io::Error::other("echo: more reads than bytes sent"))
    })
}

#[test]
fn split_halves_read_and_write_at_once_in_one_task() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 2, "split", async {
            let (mut client, server) = pair().await?;
            let echoed = echo(server);
            let data = pattern(LEN, 21);
            let (rd, wr) = client.split();
            // Neither alone could finish: the echo stalls unless its output is read.
            let (written, read) = join2(
                async move {
                    let mut wr = wr;
                    for chunk in data.chunks(10_000) {
                        wr.write_all(chunk).await?;
                    }
                    wr.shutdown()?;
                    Ok::<_, io::Error>(())
                },
                async move {
                    let mut rd = rd;
                    let mut got = Vec::with_capacity(LEN);
                    let mut buf = vec![0u8; 3000];
                    for _ in 0..=LEN {
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
            written?;
            assert!(read? == pattern(LEN, 21), "{driver}: the echo");
            assert_eq!(echoed.await.expect("echo task")?, LEN, "{driver}");
            Ok(())
        });
    }
}

#[test]
fn owned_halves_work_from_two_tasks_and_reunite() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 2, "into_split and reunite", async {
            let (client, server) = pair().await?;
            let echoed = echo(server);
            let (mut rd, mut wr) = client.into_split();
            let writer = spawn(async move {
                wr.write_all(&pattern(LEN, 22)).await?;
                // Handed back whole, not dropped: no shutdown.
                Ok::<_, io::Error>(wr)
            });
            let mut got = vec![0u8; LEN];
            rd.read_exact(&mut got).await?;
            assert!(got == pattern(LEN, 22), "{driver}: the echo");
            let wr = writer.await.expect("writer task")?;

            let mut stream = rd.reunite(wr).expect("halves of one stream");
            // Still open both ways after the reunion.
            stream.write_all(b"after reunite").await?;
            let mut back = [0u8; 13];
            stream.read_exact(&mut back).await?;
            assert_eq!(&back, b"after reunite", "{driver}");
            stream.shutdown(Shutdown::Write)?;
            assert_eq!(stream.read(&mut back).await?, 0, "{driver}: end of stream");
            assert_eq!(echoed.await.expect("echo task")?, LEN + 13, "{driver}");
            Ok(())
        });
    }
}

#[test]
fn reuniting_halves_of_two_streams_is_an_error() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 1, "ReuniteError", async {
            let (c1, mut s1) = pair().await?;
            let (c2, mut s2) = pair().await?;
            let (r1, w1) = c1.into_split();
            let (r2, w2) = c2.into_split();
            let peer1 = r1.peer_addr()?;
            let err = r1.reunite(w2).expect_err("halves of two streams");
            assert!(!err.to_string().is_empty());
            let hiver_runtime::io::ReuniteError(r1, w2) = err;
            assert_eq!(
                r1.peer_addr()?,
                peer1,
                "{driver}: the read half is handed back"
            );
            // Both pairs are whole again, and work: nothing was shut down.
            let mut c1 = r1.reunite(w1).expect("stream 1");
            let mut c2 = r2.reunite(w2).expect("stream 2");
            for (c, s, msg) in [(&mut c1, &mut s1, b"one"), (&mut c2, &mut s2, b"two")] {
                c.write_all(msg).await?;
                let mut buf = [0u8; 3];
                s.read_exact(&mut buf).await?;
                assert_eq!(&buf, msg, "{driver}");
                s.write_all(msg).await?;
                c.read_exact(&mut buf).await?;
                assert_eq!(&buf, msg, "{driver}");
            }
            Ok(())
        });
    }
}

#[test]
fn read_owned_and_write_owned_round_trip() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 2, "owned buffers", async {
            let (mut client, mut server) = pair().await?;
            let data = pattern(LEN, 23);
            let (sent, received) = join2(
                async {
                    let mut rest = data.clone();
                    let mut sent = 0;
                    for _ in 0..=LEN {
                        if rest.is_empty() {
                            break;
                        }
                        let given = rest.clone();
                        let (n, back) = client.write_owned(rest).await;
                        let n = n?;
                        assert!(n > 0, "{driver}: a write of zero bytes");
                        assert!(back == given, "{driver}: the buffer comes back as given");
                        sent += n;
                        rest = back[n..].to_vec();
                    }
                    client.shutdown(Shutdown::Write)?;
                    Ok::<_, io::Error>(sent)
                },
                async {
                    // Bytes land after what the buffer holds, in its spare capacity.
                    let mut buf = b"prefix:".to_vec();
                    buf.reserve_exact(LEN);
                    for _ in 0..=LEN {
                        let len = buf.len();
                        let (n, back) = server.read_owned(buf).await;
                        let n = n?;
                        assert_eq!(back.len(), len + n, "{driver}: length grown by n");
                        buf = back;
                        if n == 0 || buf.len() == buf.capacity() {
                            break;
                        }
                    }
                    Ok::<_, io::Error>(buf)
                },
            )
            .await;
            assert_eq!(sent?, LEN, "{driver}");
            let buf = received?;
            assert_eq!(&buf[..7], b"prefix:", "{driver}: the prefix is kept");
            assert!(buf[7..] == data[..], "{driver}: the bytes");
            // At end of stream: 0, the buffer handed back unchanged.
            let (n, back) = server.read_owned(Vec::with_capacity(16)).await;
            assert_eq!((n?, back.len()), (0, 0), "{driver}: end of stream");
            Ok(())
        });
    }
}

#[test]
fn read_vectored_and_write_vectored_round_trip() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 1, "vectored", async {
            let (mut client, mut server) = pair().await?;
            let parts: [Vec<u8>; 4] = [
                b"abc".to_vec(),
                Vec::new(),
                b"defgh".to_vec(),
                pattern(5000, 24),
            ];
            let data = parts.concat();
            // Write it all, a vectored write at a time.
            let mut done = 0;
            for _ in 0..=data.len() {
                if done == data.len() {
                    break;
                }
                // The slices of what is left, part boundaries kept.
                let mut skip = done;
                let mut slices = Vec::new();
                for p in &parts {
                    let s = skip.min(p.len());
                    skip -= s;
                    slices.push(IoSlice::new(&p[s..]));
                }
                let n = client.write_vectored(&slices).await?;
                assert!(n > 0, "{driver}: a write of zero bytes");
                done += n;
            }
            assert_eq!(done, data.len(), "{driver}");
            client.shutdown(Shutdown::Write)?;

            // Read it back into three buffers, filled in order.
            let mut got = Vec::new();
            for _ in 0..=data.len() {
                let (mut a, mut b, mut c) = ([0u8; 3], [0u8; 5], [0u8; 2000]);
                let mut bufs = [
                    IoSliceMut::new(&mut a),
                    IoSliceMut::new(&mut b),
                    IoSliceMut::new(&mut c),
                ];
                let n = server.read_vectored(&mut bufs).await?;
                if n == 0 {
                    break;
                }
                let all = [&a[..], &b[..], &c[..]].concat();
                got.extend_from_slice(&all[..n]);
            }
            assert_eq!(got.len(), data.len(), "{driver}");
            assert!(got == data, "{driver}: the bytes, in order");
            // The first read filled the first buffers first.
            assert_eq!(&got[..8], b"abcdefgh", "{driver}");
            Ok(())
        });
    }
}

#[test]
fn set_nodelay_round_trips() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 1, "nodelay", async {
            let (client, server) = pair().await?;
            for s in [&client, &server] {
                s.set_nodelay(true)?;
                assert!(s.nodelay()?, "{driver}: on");
                s.set_nodelay(false)?;
                assert!(!s.nodelay()?, "{driver}: off");
                s.set_nodelay(true)?;
                assert!(s.nodelay()?, "{driver}: on again");
            }
            Ok(())
        });
    }
}

#[test]
fn the_two_ends_agree_on_their_addresses() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 1, "addresses", async {
            for local in ["127.0.0.1:0", "[::1]:0"] {
                let listener = TcpListener::bind(local).await?;
                let at = listener.local_addr()?;
                assert_ne!(at.port(), 0, "{driver}: {local}");
                let client = TcpStream::connect(at).await?;
                let (server, from) = listener.accept().await?;
                assert_eq!(
                    from,
                    client.local_addr()?,
                    "{driver}: {local}: accept's address"
                );
                assert_eq!(
                    server.peer_addr()?,
                    client.local_addr()?,
                    "{driver}: {local}"
                );
                assert_eq!(
                    server.local_addr()?,
                    client.peer_addr()?,
                    "{driver}: {local}"
                );
                assert_eq!(client.peer_addr()?, at, "{driver}: {local}");
                let (rd, _wr) = client.into_split();
                assert_eq!(rd.peer_addr()?, at, "{driver}: {local}: the read half");
            }
            Ok(())
        });
    }
}
