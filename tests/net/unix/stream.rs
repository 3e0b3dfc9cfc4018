//! `UnixListener` and `UnixStream` on each driver: connections accepted and echoing a
//! patterned stream each way from tasks on two workers; the addresses each end reports;
//! `pair` with vectored and owned-buffer I/O, `read_exact`, `flush` and shutdown; the
//! borrowed and owned halves (`reunite`, `ReuniteError`, a dropped write half's end of
//! stream); on Linux, names in the abstract namespace; and a connect to a listener whose
//! backlog is full (io_uring waits for room, epoll says `WouldBlock`, as documented).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;

use hiver_runtime::io::{ReuniteError, UnixListener, UnixStream};
use hiver_runtime::{spawn, JoinHandle};

use super::SockDir;
use crate::support::{drivers, join2, pattern, run, serial};

const CONNS: usize = 8;
const LEN: usize = 256 * 1024;

/// An echo task on `stream` until end of stream; its output is the bytes echoed.
fn echo(mut stream: UnixStream) -> JoinHandle<io::Result<usize>> {
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

/// Writes `data` and shuts the write side, while reading the echo until end of stream.
async fn round_trip(stream: &mut UnixStream, data: &[u8]) -> io::Result<Vec<u8>> {
    let (mut rd, mut wr) = stream.split();
    let (written, read) = join2(
        async {
            for chunk in data.chunks(10_000) {
                wr.write_all(chunk).await?;
            }
            wr.shutdown()
        },
        async {
            let mut got = Vec::with_capacity(data.len());
            let mut buf = vec![0u8; 3000];
            for _ in 0..=data.len() {
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
    read
}

#[test]
fn accepted_connections_echo_a_stream_each_way_from_two_workers() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("echo");
        let path = dir.path("echo.sock");
        run(driver, 2, "Unix echo", async {
            let listener = UnixListener::bind(&path).await?;
            assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
            let server = spawn(async move {
                let mut echoes = Vec::new();
                for _ in 0..CONNS {
                    let (stream, peer) = listener.accept().await?;
                    assert!(peer.is_unnamed(), "the clients did not bind: {peer:?}");
                    echoes.push(echo(stream));
                }
                let mut total = 0;
                for e in echoes {
                    total += e.await.expect("echo task")?;
                }
                Ok::<_, io::Error>(total)
            });
            let clients: Vec<_> = (0..CONNS)
                .map(|i| {
                    let path = path.clone();
                    spawn(async move {
                        let mut stream = UnixStream::connect(&path).await?;
                        assert_eq!(stream.peer_addr()?.as_pathname(), Some(path.as_path()));
                        assert!(stream.local_addr()?.is_unnamed());
                        let data = pattern(LEN, i as u8);
                        let got = round_trip(&mut stream, &data).await?;
                        Ok::<_, io::Error>(got == data)
                    })
                })
                .collect();
            for (i, c) in clients.into_iter().enumerate() {
                assert!(
                    c.await.expect("client task")?,
                    "{driver}: connection {i}: the echo differs from what was sent"
                );
            }
            assert_eq!(server.await.expect("server task")?, CONNS * LEN, "{driver}");
            Ok(())
        });
    }
}

#[test]
fn a_bound_peers_name_is_reported_by_accept_and_both_ends() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("addrs");
        let (path, client_path) = (dir.path("server.sock"), dir.path("client.sock"));
        run(driver, 1, "Unix addresses", async {
            let listener = UnixListener::bind(&path).await?;
            // A blocking client that binds a name of its own before connecting (the
            // connection waits in the backlog, so `connect` returns at once).
            let client = {
                use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
                let fd = rustix::net::socket(AddressFamily::UNIX, SocketType::STREAM, None)?;
                rustix::net::bind(&fd, &SocketAddrUnix::new(client_path.as_path())?)?;
                rustix::net::connect(&fd, &SocketAddrUnix::new(path.as_path())?)?;
                std::os::unix::net::UnixStream::from(fd)
            };
            let (server, peer) = listener.accept().await?;
            assert_eq!(peer.as_pathname(), Some(client_path.as_path()), "{driver}");
            assert_eq!(
                server.peer_addr()?.as_pathname(),
                Some(client_path.as_path())
            );
            assert_eq!(server.local_addr()?.as_pathname(), Some(path.as_path()));
            assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
            Ok(())
        });
    }
}

#[test]
fn a_pair_moves_bytes_vectored_owned_and_exact_then_shuts_down() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 1, "Unix pair", async {
            let (mut a, mut b) = UnixStream::pair()?;
            assert!(a.local_addr()?.is_unnamed() && a.peer_addr()?.is_unnamed());

            let n = a
                .write_vectored(&[IoSlice::new(b"hello, "), IoSlice::new(b"world")])
                .await?;
            assert_eq!(n, 12, "{driver}");
            let (mut x, mut y) = ([0u8; 5], [0u8; 7]);
            let mut got = 0;
            while got < 12 {
                let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
                let mut rest: &mut [IoSliceMut<'_>] = &mut bufs;
                IoSliceMut::advance_slices(&mut rest, got);
                got += b.read_vectored(rest).await?;
            }
            assert_eq!((&x, &y), (b"hello", b", world"), "{driver}");

            // Owned buffers: a write may take part of its buffer; the rest goes next.
            let data = pattern(100_000, 3);
            let (sent, back) = join2(
                async {
                    let mut off = 0;
                    while off < data.len() {
                        let (n, buf) = a.write_owned(data[off..].to_vec()).await;
                        assert_eq!(buf, data[off..], "{driver}: the buffer comes back");
                        off += n?;
                    }
                    Ok::<_, io::Error>(off)
                },
                async {
                    let mut got = Vec::new();
                    while got.len() < data.len() {
                        let (n, buf) = b.read_owned(Vec::with_capacity(8192)).await;
                        let n = n?;
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    Ok::<_, io::Error>(got)
                },
            )
            .await;
            assert_eq!(sent?, data.len(), "{driver}");
            assert!(back? == data, "{driver}: owned round trip");

            b.write_all(b"exact").await?;
            b.flush().await?;
            let mut five = [0u8; 5];
            a.read_exact(&mut five).await?;
            assert_eq!(&five, b"exact", "{driver}");

            // A write shutdown comes after what was written; the other way still works.
            a.write_all(b"last").await?;
            a.shutdown(Shutdown::Write)?;
            let mut buf = [0u8; 16];
            let n = b.read(&mut buf).await?;
            assert_eq!(&buf[..n], b"last", "{driver}");
            assert_eq!(b.read(&mut buf).await?, 0, "{driver}: end of stream");
            b.write_all(b"reply").await?;
            a.read_exact(&mut five).await?;
            assert_eq!(&five, b"reply", "{driver}: the read side still works");
            drop(b);
            assert_eq!(a.read(&mut buf).await?, 0, "{driver}: the peer is gone");
            Ok(())
        });
    }
}

#[test]
fn owned_halves_work_from_two_tasks_reunite_and_end_the_stream_when_dropped() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, 2, "Unix halves", async {
            let (a, b) = UnixStream::pair()?;
            let echoed = echo(b);
            let (mut rd, mut wr) = a.into_split();
            assert!(rd.peer_addr()?.is_unnamed(), "{driver}");
            let data = pattern(LEN, 9);
            let writer = {
                let data = data.clone();
                spawn(async move {
                    wr.write_all(&data).await?;
                    wr.flush().await?;
                    Ok::<_, io::Error>(wr)
                })
            };
            let mut got = vec![0u8; LEN];
            rd.read_exact(&mut got).await?;
            assert!(got == data, "{driver}: the echo through the halves");
            let wr = writer.await.expect("writer task")?;

            // Halves of two different streams do not reunite; both come back.
            let (c, d) = UnixStream::pair()?;
            let (c_rd, c_wr) = c.into_split();
            let ReuniteError(rd, c_wr) = rd.reunite(c_wr).expect_err("different streams");
            drop((c_rd, c_wr, d));

            let mut a = rd.reunite(wr).expect("same stream");
            a.write_all(b"again").await?;
            let mut five = [0u8; 5];
            a.read_exact(&mut five).await?;
            assert_eq!(&five, b"again", "{driver}: the reunited stream");

            // Dropping the owned write half shuts the write side: the echo ends.
            let (mut rd, wr) = a.into_split();
            drop(wr);
            let mut buf = [0u8; 8];
            assert_eq!(rd.read(&mut buf).await?, 0, "{driver}: the echo closed");
            assert_eq!(
                echoed.await.expect("echo task")?,
                LEN + 5,
                "{driver}: bytes echoed"
            );
            Ok(())
        });
    }
}

#[cfg(target_os = "linux")]
#[test]
fn names_in_the_abstract_namespace_leave_no_file() {
    use std::os::linux::net::SocketAddrExt;
    let _serial = serial();
    for driver in drivers() {
        let name = format!("\0hiver-test-{}-{driver}", std::process::id());
        run(driver, 1, "abstract names", async {
            let listener = UnixListener::bind(&name).await?;
            let want = &name.as_bytes()[1..];
            assert_eq!(listener.local_addr()?.as_abstract_name(), Some(want));
            let mut client = UnixStream::connect(&name).await?;
            let (mut server, _) = listener.accept().await?;
            assert_eq!(client.peer_addr()?.as_abstract_name(), Some(want));
            client.write_all(b"abstract").await?;
            let mut buf = [0u8; 8];
            server.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"abstract", "{driver}");
            Ok(())
        });
        // The name went with the listener: binding it again works.
        run(driver, 1, "abstract name reused", async {
            drop(UnixListener::bind(&name).await?);
            Ok(())
        });
    }
}

#[test]
fn socket_files_stay_after_the_listener_and_go_with_their_directory() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("files");
        let path = dir.path("left.sock");
        run(driver, 1, "socket file left", async {
            drop(UnixListener::bind(&path).await?);
            assert!(path.exists(), "{driver}: the file stays, as std's");
            let again = UnixListener::bind(&path)
                .await
                .expect_err("the file exists");
            assert_eq!(again.kind(), io::ErrorKind::AddrInUse, "{driver}: {again}");
            std::fs::remove_file(&path)?;
            drop(UnixListener::bind(&path).await?);
            Ok(())
        });
        let root = dir.dir().to_path_buf();
        drop(dir);
        assert!(!root.exists(), "{driver}: the test directory is removed");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_connect_to_a_full_backlog_waits_on_io_uring_and_would_block_on_epoll() {
    use hiver_runtime::DriverType;
    use std::pin::pin;

    use crate::support::{on_worker, poll_once, raise_nofile, yield_now};
    /// The listener's backlog (`listen`'s, in the runtime).
    const BACKLOG: usize = 1024;
    let _serial = serial();
    let _nofile = raise_nofile(2 * BACKLOG as u64 + 256);
    for driver in drivers() {
        let dir = SockDir::new("backlog");
        let path = dir.path("l.sock");
        run(
            driver,
            1,
            "full backlog",
            on_worker(async move {
                let listener = UnixListener::bind(&path).await?;
                let mut waiting = Vec::new();
                // The kernel admits one connection beyond the backlog.
                for _ in 0..=BACKLOG {
                    waiting.push(UnixStream::connect(&path).await?);
                }
                let mut connect = pin!(UnixStream::connect(&path));
                match driver {
                    DriverType::IOUring => {
                        for _ in 0..10 {
                            assert!(
                                poll_once(connect.as_mut()).await.is_pending(),
                                "{driver}: the connect waits for room"
                            );
                            yield_now().await;
                        }
                        let (first, _) = listener.accept().await?;
                        let late = connect.await?;
                        assert!(late.peer_addr()?.as_pathname().is_some(), "{driver}");
                        drop(first);
                    }
                    _ => {
                        let err = connect.await.expect_err("the backlog is full");
                        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{driver}: {err}");
                        assert!(err.to_string().contains("l.sock"), "{driver}: {err}");
                    }
                }
                Ok(())
            }),
        );
    }
}
