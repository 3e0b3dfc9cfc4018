//! A stream ([`TcpStream`] or [`UnixStream`](crate::io::UnixStream)) split into a read half and a write half,
//! borrowed or owned. The owned halves carry the stream's type, which `reunite` gives back.

use std::io::{self, IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::net::Shutdown;
use std::sync::Arc;

use super::tcp::stream::TcpStream;
use crate::net::socket::Socket;
use crate::net::stream::{Dest, Reader, Src, Writer};

/// The read half of [`TcpStream::split`] or [`UnixStream::split`](crate::io::UnixStream::split).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::UnixStream;
/// let (mut a, mut b) = UnixStream::pair()?;
/// let (mut rd, mut wr) = a.split();
/// wr.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// b.read_exact(&mut buf).await?;
/// b.write_all(&buf).await?;
/// rd.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a> {
    pub(crate) sock: &'a Socket,
    pub(crate) reader: &'a mut Reader,
}

/// The write half of [`TcpStream::split`] or [`UnixStream::split`](crate::io::UnixStream::split) (see [`ReadHalf`]).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::{TcpListener, TcpStream};
/// let l = TcpListener::bind("127.0.0.1:0").await?;
/// let mut c = TcpStream::connect(l.local_addr()?).await?;
/// let (mut s, _) = l.accept().await?;
/// let (_rd, mut wr) = c.split();
/// wr.write_all(b"pong").await?;
/// let mut buf = [0u8; 4];
/// s.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"pong");
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a> {
    pub(crate) sock: &'a Arc<Socket>,
    pub(crate) writer: &'a mut Writer,
}

impl<'a> ReadHalf<'a> {
    pub(crate) fn new(
        sock: &'a Arc<Socket>,
        reader: &'a mut Reader,
        writer: &'a mut Writer,
    ) -> (ReadHalf<'a>, WriteHalf<'a>) {
        (ReadHalf { sock, reader }, WriteHalf { sock, writer })
    }

    /// As [`TcpStream::read`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// b.write_all(b"hi").await?;
    /// let (mut rd, _wr) = a.split();
    /// let mut buf = [0u8; 8];
    /// let n = rd.read(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(self.sock, Dest::Slice(buf)).await
    }

    /// As [`TcpStream::read_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::io::IoSliceMut;
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// b.write_all(b"abcd").await?;
    /// let (mut rd, _wr) = a.split();
    /// let (mut x, mut y) = ([0u8; 1], [0u8; 3]);
    /// let n = rd.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]).await?;
    /// assert_eq!((n, &x, &y), (4, b"a", b"bcd"));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.reader.read(self.sock, Dest::Vectored(bufs)).await
    }

    /// As [`TcpStream::read_exact`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// b.write_all(b"ab").await?;
    /// b.write_all(b"c").await?;
    /// let (mut rd, _wr) = a.split();
    /// let mut buf = [0u8; 3];
    /// rd.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"abc");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.reader.read_exact(self.sock, buf).await
    }
}

impl WriteHalf<'_> {
    /// As [`TcpStream::write`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.split();
    /// assert_eq!(wr.write(b"hi").await?, 2);
    /// let mut buf = [0u8; 2];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(self.sock, Src::Slice(buf)).await
    }

    /// As [`TcpStream::write_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::io::IoSlice;
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.split();
    /// let n = wr.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")]).await?;
    /// let mut buf = [0u8; 4];
    /// b.read_exact(&mut buf[..n]).await?;
    /// assert_eq!(&buf[..n], &b"abcd"[..n]);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write(self.sock, Src::Vectored(bufs)).await
    }

    /// As [`TcpStream::write_all`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.split();
    /// wr.write_all(b"all of it").await?;
    /// let mut buf = [0u8; 9];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"all of it");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(self.sock, buf).await
    }

    /// As [`TcpStream::flush`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::flush`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.split();
    /// wr.write_all(b"bye").await?;
    /// wr.flush().await?;
    /// let mut buf = [0u8; 3];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"bye");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        self.writer.flush(self.sock).await
    }

    /// Shuts down the write side.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::shutdown`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (_rd, wr) = a.split();
    /// wr.shutdown()?;
    /// let mut buf = [0u8; 1];
    /// assert_eq!(b.read(&mut buf).await?, 0, "end of stream");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        self.writer.shutdown(self.sock, Shutdown::Write)
    }
}

/// The read half of [`TcpStream::into_split`] or [`UnixStream::into_split`](crate::io::UnixStream::into_split); it can move to
/// another task. `S` is the stream's type, given back by `reunite`.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::{TcpListener, TcpStream};
/// let l = TcpListener::bind("127.0.0.1:0").await?;
/// let c = TcpStream::connect(l.local_addr()?).await?;
/// let (mut rd, mut wr) = c.into_split();
/// let (mut s, _) = l.accept().await?;
/// wr.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// s.read_exact(&mut buf).await?;
/// s.write_all(&buf).await?;
/// rd.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// let _stream = rd.reunite(wr).expect("same stream");
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf<S = TcpStream> {
    pub(crate) sock: Arc<Socket>,
    pub(crate) reader: Reader,
    stream: PhantomData<fn() -> S>,
}

/// The write half of [`TcpStream::into_split`] or [`UnixStream::into_split`](crate::io::UnixStream::into_split). Dropping it
/// shuts the write side down (the peer reads end of stream), as tokio's does.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::UnixStream;
/// let (a, mut b) = UnixStream::pair()?;
/// let (_rd, mut wr) = a.into_split();
/// wr.write_all(b"last words").await?;
/// drop(wr);
/// let mut buf = [0u8; 16];
/// let n = b.read(&mut buf).await?;
/// assert_eq!(&buf[..n], b"last words");
/// assert_eq!(b.read(&mut buf).await?, 0, "end of stream");
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf<S = TcpStream> {
    pub(crate) sock: Arc<Socket>,
    pub(crate) writer: Writer,
    shutdown_on_drop: bool,
    stream: PhantomData<fn() -> S>,
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams; both are returned.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::{ReuniteError, UnixStream};
/// let (a, b) = UnixStream::pair()?;
/// let (a_rd, _a_wr) = a.into_split();
/// let (_b_rd, b_wr) = b.into_split();
/// let ReuniteError(a_rd, b_wr) = a_rd.reunite(b_wr).unwrap_err();
/// # drop((a_rd, b_wr));
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReuniteError<S = TcpStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: std::fmt::Debug> std::error::Error for ReuniteError<S> {}

impl<S> OwnedReadHalf<S> {
    pub(crate) fn new(
        sock: Arc<Socket>,
        reader: Reader,
        writer: Writer,
    ) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
        (
            OwnedReadHalf {
                sock: sock.clone(),
                reader,
                stream: PhantomData,
            },
            OwnedWriteHalf {
                sock,
                writer,
                shutdown_on_drop: true,
                stream: PhantomData,
            },
        )
    }

    /// As [`TcpStream::read`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (mut rd, _wr) = a.into_split();
    /// b.write_all(b"hi").await?;
    /// let mut buf = [0u8; 8];
    /// let n = rd.read(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Slice(buf)).await
    }

    /// As [`TcpStream::read_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::io::IoSliceMut;
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (mut rd, _wr) = a.into_split();
    /// b.write_all(b"abcd").await?;
    /// let (mut x, mut y) = ([0u8; 1], [0u8; 3]);
    /// let n = rd.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]).await?;
    /// assert_eq!((n, &x, &y), (4, b"a", b"bcd"));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Vectored(bufs)).await
    }

    /// As [`TcpStream::read_exact`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (mut rd, _wr) = a.into_split();
    /// b.write_all(b"12").await?;
    /// drop(b);
    /// let mut buf = [0u8; 3];
    /// let err = rd.read_exact(&mut buf).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.reader.read_exact(&self.sock, buf).await
    }

    /// As [`TcpStream::read_owned`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (mut rd, _wr) = a.into_split();
    /// b.write_all(b"hi").await?;
    /// let (n, buf) = rd.read_owned(Vec::with_capacity(16)).await;
    /// assert_eq!(&buf[..n?], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.reader.read_owned(&self.sock, buf).await
    }

    /// The parts of the stream both halves came from, or both halves back.
    // The halves themselves are the error (as tokio's `reunite`): nothing to box.
    #[allow(clippy::result_large_err)]
    pub(crate) fn reunite_parts(
        mut self,
        mut w: OwnedWriteHalf<S>,
    ) -> Result<(Arc<Socket>, Reader, Writer), ReuniteError<S>> {
        if !Arc::ptr_eq(&self.sock, &w.sock) {
            return Err(ReuniteError(self, w));
        }
        w.shutdown_on_drop = false;
        // The halves' states (and the waits they registered) go to the stream; the halves
        // drop with fresh ones.
        let writer = std::mem::take(&mut w.writer);
        let reader = std::mem::take(&mut self.reader);
        Ok((self.sock.clone(), reader, writer))
    }
}

impl OwnedReadHalf<TcpStream> {
    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let (rd, _wr) = TcpStream::connect(l.local_addr()?).await?.into_split();
    /// assert_eq!(rd.peer_addr()?, l.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.sock.peer_addr()
    }

    /// Puts the halves back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (with both halves) if they come from different streams.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// let local = c.local_addr()?;
    /// let (rd, wr) = c.into_split();
    /// let c = rd.reunite(wr).expect("halves of one stream");
    /// assert_eq!(c.local_addr()?, local);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // The halves themselves are the error (as tokio's `reunite`): nothing to box.
    #[allow(clippy::result_large_err)]
    pub fn reunite(self, w: OwnedWriteHalf<TcpStream>) -> Result<TcpStream, ReuniteError> {
        let (sock, reader, writer) = self.reunite_parts(w)?;
        Ok(TcpStream {
            sock,
            reader,
            writer,
        })
    }
}

impl<S> OwnedWriteHalf<S> {
    /// As [`TcpStream::write`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.into_split();
    /// assert_eq!(wr.write(b"hi").await?, 2);
    /// let mut buf = [0u8; 2];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Slice(buf)).await
    }

    /// As [`TcpStream::write_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::io::IoSlice;
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.into_split();
    /// let n = wr.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")]).await?;
    /// let mut buf = [0u8; 4];
    /// b.read_exact(&mut buf[..n]).await?;
    /// assert_eq!(&buf[..n], &b"abcd"[..n]);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Vectored(bufs)).await
    }

    /// As [`TcpStream::write_all`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.into_split();
    /// wr.write_all(b"all of it").await?;
    /// let mut buf = [0u8; 9];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"all of it");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(&self.sock, buf).await
    }

    /// As [`TcpStream::write_owned`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.into_split();
    /// let (n, buf) = wr.write_owned(b"hi".to_vec()).await;
    /// assert_eq!((n?, &buf[..]), (2, &b"hi"[..]));
    /// let mut got = [0u8; 2];
    /// b.read_exact(&mut got).await?;
    /// assert_eq!(&got, b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.writer.write_owned(&self.sock, buf).await
    }

    /// As [`TcpStream::flush`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::flush`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.into_split();
    /// wr.write_all(b"bye").await?;
    /// wr.flush().await?;
    /// let mut buf = [0u8; 3];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"bye");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        self.writer.flush(&self.sock).await
    }

    /// Shuts down the write side (after what was written).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::shutdown`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (_rd, mut wr) = a.into_split();
    /// wr.write_all(b"done").await?;
    /// wr.shutdown()?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.read(&mut buf).await?, 4);
    /// assert_eq!(b.read(&mut buf).await?, 0, "end of stream");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        self.writer.shutdown(&self.sock, Shutdown::Write)
    }
}

impl<S> Drop for OwnedReadHalf<S> {
    fn drop(&mut self) {
        // A wait a trait poll registered (the write half lives on, and so does the socket).
        self.reader.leave(&self.sock);
    }
}

impl<S> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        self.writer.leave(&self.sock);
        if self.shutdown_on_drop {
            // NotConnected when the peer is gone already: nothing left to shut.
            let _ = self.writer.shutdown(&self.sock, Shutdown::Write);
        }
    }
}
