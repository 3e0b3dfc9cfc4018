//! tokio's I/O traits, driven by tokio's extension traits and by tokio-util's codecs: crates
//! written for tokio's streams, run on hiver's.

use std::io::SeekFrom;

use futures_util::{SinkExt, StreamExt};
use hiver_runtime::io::{TcpListener, TcpStream, UnixStream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::codec::{Framed, LinesCodec};

use crate::support::{assert_no_fd_leak, drivers, open_fds, pattern, runtime, serial, within};

/// A line server written with tokio-util: every line comes back upper-cased.
async fn shout(stream: TcpStream) {
    let mut lines = Framed::new(stream, LinesCodec::new());
    while let Some(line) = lines.next().await {
        let line = line.expect("a line");
        lines.send(line.to_uppercase()).await.expect("sent");
    }
}

#[test]
fn a_lines_codec_framed_over_tcp_streams() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        rt.block_on(within("framed", async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = hiver_runtime::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                shout(stream).await;
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut lines = Framed::new(stream, LinesCodec::new());
            for i in 0..200 {
                lines.send(format!("hello {i}")).await.unwrap();
                let back = lines.next().await.expect("an answer").unwrap();
                assert_eq!(back, format!("HELLO {i}"), "on {driver}");
            }
            // Pipelined: all sent, then all read.
            for i in 0..200 {
                lines.feed(format!("line {i}")).await.unwrap();
            }
            SinkExt::<String>::flush(&mut lines).await.unwrap();
            for i in 0..200 {
                let back = lines.next().await.expect("an answer").unwrap();
                assert_eq!(back, format!("LINE {i}"), "on {driver}");
            }
            drop(lines);
            server.await.unwrap();
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

// Also the regression test of a lost readiness: `read_to_end` grows its buffer past the
// scratch size, and a full scratch read must not count as having emptied the socket.
#[test]
fn tokio_io_copy_echoes_through_owned_halves() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        rt.block_on(within("copy", async {
            let (a, b) = UnixStream::pair().unwrap();
            let echo = hiver_runtime::spawn(async move {
                let (mut rd, mut wr) = b.into_split();
                let n = tokio::io::copy(&mut rd, &mut wr).await.unwrap();
                AsyncWriteExt::shutdown(&mut wr).await.unwrap();
                n
            });
            let data = pattern(3 << 20, 5);
            let (mut rd, mut wr) = a.into_split();
            let sent = data.clone();
            let writer = hiver_runtime::spawn(async move {
                AsyncWriteExt::write_all(&mut wr, &sent).await.unwrap();
                AsyncWriteExt::shutdown(&mut wr).await.unwrap();
                wr
            });
            let mut back = Vec::new();
            AsyncReadExt::read_to_end(&mut rd, &mut back).await.unwrap();
            assert!(back == data, "on {driver}: the echo came back whole");
            assert_eq!(echo.await.unwrap(), data.len() as u64, "on {driver}");
            drop(writer.await.unwrap());
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn read_buf_into_uninitialized_memory_and_lines_from_async_buf_read() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("read_buf", async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let data = pattern(100_000, 2);
            b.write_all(&data).await.unwrap();
            b.write_all(b"\none\ntwo\n").await.unwrap();
            drop(b);
            // `read_buf` hands over a `ReadBuf` over spare (uninitialized) capacity.
            let mut got = Vec::with_capacity(data.len());
            while got.len() < data.len() {
                let want = data.len() - got.len();
                let mut chunk = Vec::with_capacity(want.min(30_000));
                let n = AsyncReadExt::read_buf(&mut a, &mut chunk).await.unwrap();
                assert!(n > 0 && n == chunk.len(), "on {driver}");
                got.extend_from_slice(&chunk[..n.min(want)]);
                if n > want {
                    panic!("on {driver}: read past the pattern");
                }
            }
            assert!(got == data, "on {driver}");
            let mut lines = tokio::io::BufReader::new(a).lines();
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(""));
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("one"));
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("two"));
            assert_eq!(lines.next_line().await.unwrap(), None, "on {driver}: EOF");
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn a_file_through_tokios_traits() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let path = std::env::temp_dir().join(format!(
            "hiver-compat-tokio-{}-{driver}",
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
            let text: String = (0..2000).map(|i| format!("row {i}\n")).collect();
            AsyncWriteExt::write_all(&mut f, text.as_bytes())
                .await
                .unwrap();
            AsyncWriteExt::flush(&mut f).await.unwrap();
            assert_eq!(
                AsyncSeekExt::seek(&mut f, SeekFrom::Start(0))
                    .await
                    .unwrap(),
                0
            );
            // Lines straight from the file (its own `AsyncBufRead`).
            let mut n = 0;
            let mut line = String::new();
            while AsyncBufReadExt::read_line(&mut f, &mut line).await.unwrap() > 0 {
                assert_eq!(line, format!("row {n}\n"), "on {driver}");
                line.clear();
                n += 1;
            }
            assert_eq!(n, 2000, "on {driver}");
            let end = AsyncSeekExt::stream_position(&mut f).await.unwrap();
            assert_eq!(end, text.len() as u64, "on {driver}");
        }))
        .unwrap();
        drop(rt);
        let _ = std::fs::remove_file(&path);
        assert_no_fd_leak(before, driver);
    }
}

// Every type has the traits (checked at compile time).
const _: fn() = || {
    fn read<T: tokio::io::AsyncBufRead + tokio::io::AsyncRead + Send + Unpin>() {}
    fn write<T: tokio::io::AsyncWrite + Send + Unpin>() {}
    fn seek<T: tokio::io::AsyncSeek>() {}
    read::<TcpStream>();
    read::<UnixStream>();
    read::<hiver_runtime::io::ReadHalf<'static>>();
    read::<hiver_runtime::io::OwnedReadHalf<UnixStream>>();
    read::<hiver_runtime::fs::File>();
    write::<TcpStream>();
    write::<UnixStream>();
    write::<hiver_runtime::io::WriteHalf<'static>>();
    write::<hiver_runtime::io::OwnedWriteHalf>();
    write::<hiver_runtime::fs::File>();
    seek::<hiver_runtime::fs::File>();
};
