//! [`HyperIo`]: a hiver stream as hyper 1.x's I/O (feature `hyper`).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};

use super::{PollRead, PollWrite};
use crate::bufs::{Dest, ReadSink, Src};

/// A hiver stream ([`TcpStream`](crate::io::TcpStream) or
/// [`UnixStream`](crate::io::UnixStream)) with hyper 1.x's I/O traits, `rt::Read` and
/// `rt::Write`: what hyper-util's `TokioIo` is for tokio's streams. Reads and writes follow
/// the [compat rules](super#how-the-polls-map-onto-hivers-operations): nothing is
/// cancelled between polls, and on io_uring writes are write-behind until hyper flushes.
///
/// Serving one HTTP/1.1 request with hyper, and asking it with hyper's client, both on
/// hiver:
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Empty, Full};
/// use hiver_runtime::compat::HyperIo;
/// use hiver_runtime::io::UnixStream;
/// use hyper::{service::service_fn, Request, Response};
///
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let (client, server) = UnixStream::pair()?;
/// hiver_runtime::spawn(async move {
///     let hello = service_fn(|_req: Request<hyper::body::Incoming>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("Hello, World!"))))
///     });
///     let served = hyper::server::conn::http1::Builder::new()
///         .serve_connection(HyperIo::new(server), hello)
///         .await;
///     assert!(served.is_ok(), "{served:?}");
/// });
/// let (mut send, conn) = hyper::client::conn::http1::handshake(HyperIo::new(client))
///     .await
///     .map_err(std::io::Error::other)?;
/// hiver_runtime::spawn(conn);
/// let req = Request::get("/").header("host", "hiver").body(Empty::<Bytes>::new()).unwrap();
/// let res = send.send_request(req).await.map_err(std::io::Error::other)?;
/// assert_eq!(res.status(), 200);
/// let body = res.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
/// assert_eq!(body, "Hello, World!");
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, _b) = hiver_runtime::io::UnixStream::pair()?;
    /// let io = hiver_runtime::compat::HyperIo::new(a);
    /// let _a = io.into_inner();
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner }
    }

    /// The stream.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, _b) = hiver_runtime::io::UnixStream::pair()?;
    /// let io = hiver_runtime::compat::HyperIo::new(a);
    /// assert!(io.inner().peer_addr()?.is_unnamed());
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The stream, mutably.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, mut b) = hiver_runtime::io::UnixStream::pair()?;
    /// let mut io = hiver_runtime::compat::HyperIo::new(a);
    /// io.inner_mut().write_all(b"hi").await?;
    /// let mut buf = [0u8; 2];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The stream back.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, mut b) = hiver_runtime::io::UnixStream::pair()?;
    /// let mut a = hiver_runtime::compat::HyperIo::new(a).into_inner();
    /// a.write_all(b"back").await?;
    /// let mut buf = [0u8; 4];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"back");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// hyper's read cursor as a read destination (filled by copy: `put_slice`).
struct HyperSink<'a>(ReadBufCursor<'a>);

impl ReadSink for HyperSink<'_> {
    fn remaining(&self) -> usize {
        self.0.remaining()
    }

    fn put(&mut self, src: &[u8]) -> usize {
        let n = src.len().min(self.0.remaining());
        self.0.put_slice(&src[..n]);
        n
    }
}

macro_rules! hyper_impl {
    ($($ty:ty),*) => {$(
        impl Read for HyperIo<$ty> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                let sink = &mut HyperSink(buf);
                self.get_mut().inner.read_poll(cx, &mut Dest::Sink(sink)).map_ok(drop)
            }
        }

        impl Write for HyperIo<$ty> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().inner.write_poll(cx, &Src::Slice(buf))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().inner.write_poll(cx, &Src::Vectored(bufs))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().inner.flush_poll(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().inner.shutdown_poll(cx)
            }
        }
    )*};
}

hyper_impl!(crate::io::TcpStream, crate::io::UnixStream);
