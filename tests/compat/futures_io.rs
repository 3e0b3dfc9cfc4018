//! `futures_io`'s traits, driven through futures-util's extension traits and by hand.

use std::future::poll_fn;
use std::io::SeekFrom;
use std::pin::Pin;
use std::task::Poll;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use hiver_runtime::io::UnixStream;

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, pair, pattern, poll_once_flagged, runtime, serial,
    within, yield_now,
};

#[test]
fn a_mebibyte_each_way_through_read_exact_and_write_all() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        rt.block_on(within("round trip", async {
            let (mut client, mut server) = pair().await.unwrap();
            let data = pattern(1 << 20, 7);
            let sent = data.clone();
            let echo = hiver_runtime::spawn(async move {
                let mut buf = vec![0u8; sent.len()];
                AsyncReadExt::read_exact(&mut server, &mut buf)
                    .await
                    .unwrap();
                assert!(buf == sent, "the server got the bytes in order");
                AsyncWriteExt::write_all(&mut server, &buf).await.unwrap();
                server.close().await.unwrap();
            });
            let (mut rd, mut wr) = hiver_runtime::io::TcpStream::split(&mut client);
            let write = async {
                AsyncWriteExt::write_all(&mut wr, &data).await.unwrap();
                AsyncWriteExt::flush(&mut wr).await.unwrap();
            };
            let read = async {
                let mut back = Vec::new();
                rd.read_to_end(&mut back).await.unwrap();
                back
            };
            let ((), back) = crate::support::join2(write, read).await;
            assert!(
                back == data,
                "on {driver}: the echo came back whole, then EOF"
            );
            echo.await.unwrap();
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn a_pending_poll_read_stays_armed_and_loses_no_byte() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("pending read", async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let mut big = vec![0u8; 64 * 1024];
            let (first, woken) = {
                let mut read =
                    std::pin::pin!(poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut big)));
                poll_once_flagged(read.as_mut()).await
            };
            assert!(first.is_pending(), "on {driver}: nothing to read yet");
            // Nothing was cancelled: several turns of the driver later, the waker is still
            // unused (a cancelled receive would have completed and used it).
            for _ in 0..8 {
                yield_now().await;
            }
            assert!(
                !woken.is_set(),
                "on {driver}: the pending read is still armed"
            );
            let data = pattern(10_000, 3);
            b.write_all(&data).await.unwrap();
            woken.wait().await;
            // The next polls bring smaller buffers: the rest is kept, in order.
            let mut got = Vec::new();
            while got.len() < data.len() {
                let mut small = [0u8; 16];
                let n = poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut small))
                    .await
                    .unwrap();
                assert!(n > 0, "on {driver}: no EOF before the end");
                got.extend_from_slice(&small[..n]);
            }
            assert!(got == data, "on {driver}: every byte, in order");
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn poll_write_takes_nothing_while_blocked_and_flush_delivers_all() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("blocked write", async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let chunk = pattern(64 * 1024, 1);
            // Write until polls take nothing: the peer's buffers are full (or, on io_uring,
            // the send queued last is still in flight).
            let mut accepted = 0usize;
            let mut pending_in_a_row = 0;
            while pending_in_a_row < 50 {
                let write = std::pin::pin!(poll_fn(|cx| {
                    Pin::new(&mut a).poll_write(cx, &chunk[accepted % chunk.len()..])
                }));
                match crate::support::poll_once(write).await {
                    Poll::Ready(n) => {
                        accepted += n.unwrap();
                        pending_in_a_row = 0;
                    }
                    Poll::Pending => {
                        pending_in_a_row += 1;
                        yield_now().await;
                    }
                }
                assert!(
                    accepted < 1 << 30,
                    "on {driver}: the socket never filled up"
                );
            }
            // The peer reads everything there is: exactly what the polls accepted.
            let reader = hiver_runtime::spawn(async move {
                let mut got = Vec::new();
                AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
                got
            });
            AsyncWriteExt::flush(&mut a).await.unwrap();
            a.close().await.unwrap();
            let got = reader.await.unwrap();
            assert_eq!(
                got.len(),
                accepted,
                "on {driver}: no byte of a Pending poll went out"
            );
            let want: Vec<u8> = (0..accepted).map(|i| chunk[i % chunk.len()]).collect();
            assert!(
                got == want,
                "on {driver}: exactly the accepted bytes, in order"
            );
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn a_write_to_a_reset_connection_fails_by_the_flush_at_the_latest() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("reset", async {
            let (mut ours, peer) = crate::support::pair_with_std().await.unwrap();
            // An abortive close: the next segments we send are answered with a reset.
            socket_linger_zero(&peer);
            drop(peer);
            let mut failed = None;
            for _ in 0..100 {
                let r = match AsyncWriteExt::write_all(&mut ours, b"are you there?").await {
                    Ok(()) => AsyncWriteExt::flush(&mut ours).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = r {
                    failed = Some(e);
                    break;
                }
                yield_now().await;
            }
            let e = failed.unwrap_or_else(|| panic!("on {driver}: no error in 100 writes"));
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ),
                "on {driver}: {e}"
            );
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

fn socket_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a live `linger` of the size given.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}

#[test]
fn lines_through_async_buf_read_on_a_stream_and_its_owned_half() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("lines", async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let text: String = (0..500).map(|i| format!("line {i}\n")).collect();
            AsyncWriteExt::write_all(&mut b, text.as_bytes())
                .await
                .unwrap();
            b.close().await.unwrap();
            let (mut rd, _wr) = a.into_split();
            let mut lines = Vec::new();
            let mut line = String::new();
            while rd.read_line(&mut line).await.unwrap() > 0 {
                lines.push(std::mem::take(&mut line));
            }
            assert_eq!(lines.len(), 500, "on {driver}");
            assert_eq!(lines.concat(), text, "on {driver}");
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn a_file_written_sought_and_read_through_the_traits() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let path = std::env::temp_dir().join(format!(
            "hiver-compat-futures-{}-{driver}",
            std::process::id()
        ));
        let mut rt = runtime(driver, 1);
        rt.block_on(within("file", async {
            let mut f = hiver_runtime::fs::File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            let data = pattern(300_000, 9);
            for part in data.chunks(70_000) {
                AsyncWriteExt::write_all(&mut f, part).await.unwrap();
            }
            AsyncWriteExt::flush(&mut f).await.unwrap();
            assert_eq!(
                AsyncSeekExt::seek(&mut f, SeekFrom::Start(100))
                    .await
                    .unwrap(),
                100
            );
            let mut head = [0u8; 10];
            AsyncReadExt::read_exact(&mut f, &mut head).await.unwrap();
            assert_eq!(&head[..], &data[100..110], "on {driver}");
            // Buffered reads: the rest, in lines of whatever the pattern holds.
            let mut rest = Vec::new();
            loop {
                let buf = f.fill_buf().await.unwrap();
                if buf.is_empty() {
                    break;
                }
                let n = buf.len().min(4096);
                rest.extend_from_slice(&buf[..n]);
                futures_io::AsyncBufRead::consume(Pin::new(&mut f), n);
            }
            assert!(rest == data[110..], "on {driver}: the file to its end");
            f.close().await.unwrap();
        }))
        .unwrap();
        drop(rt);
        let _ = std::fs::remove_file(&path);
        assert_no_fd_leak(before, driver);
    }
}

// Every type has the traits (checked at compile time).
const _: fn() = || {
    fn read<T: futures_io::AsyncBufRead + AsyncRead + Send + Unpin>() {}
    fn write<T: AsyncWrite + Send + Unpin>() {}
    fn seek<T: futures_io::AsyncSeek>() {}
    read::<hiver_runtime::io::TcpStream>();
    read::<UnixStream>();
    read::<hiver_runtime::io::ReadHalf<'static>>();
    read::<hiver_runtime::io::OwnedReadHalf<UnixStream>>();
    read::<hiver_runtime::fs::File>();
    write::<hiver_runtime::io::TcpStream>();
    write::<UnixStream>();
    write::<hiver_runtime::io::WriteHalf<'static>>();
    write::<hiver_runtime::io::OwnedWriteHalf>();
    write::<hiver_runtime::fs::File>();
    seek::<hiver_runtime::fs::File>();
};
