//! [`File`]: an open file, with positional calls (`read_at`, `write_at`, their owned and
//! exact forms) that any number of tasks may make at once, cursor calls (`read`, `write`,
//! `seek`, ...) that take `&mut self`, and `sync_all`, `sync_data`, `metadata`, `set_len`.

use std::io::{self, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use super::cursor::Cursor;
use super::fd::FileFd;
use super::metadata::Metadata;
use super::op::{self, give, pool, position, route, take, Kind, Route, MAX_COPY};
use super::open_options::OpenOptions;
use crate::bufs::{Dest, VecSink};

/// An open file.
///
/// On io_uring every call is a ring operation (`READ`, `WRITE`, `FSYNC`, `STATX`,
/// `FTRUNCATE`; the file is closed with `CLOSE`), with no helper thread; a call whose
/// opcode this kernel lacks (`FTRUNCATE` before Linux 6.9) runs on the blocking pool. On
/// epoll and kqueue every call runs on the blocking pool. `File` is `Send` and `Sync`:
/// share it in an `Arc` to read from several tasks at once.
///
/// See the [module docs](super) for cancel safety.
///
/// ```
/// use hiver_runtime::fs::File;
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("hiver-doc-file-{}", std::process::id()));
/// let mut f = File::options().read(true).write(true).create(true).open(&path).await?;
/// f.write_all(b"hello, file").await?;
/// f.sync_all().await?;
/// let mut word = [0u8; 4];
/// f.read_exact_at(&mut word, 7).await?;
/// assert_eq!(&word, b"file");
/// drop(f);
/// hiver_runtime::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct File {
    pub(crate) fd: Arc<FileFd>,
    pub(crate) cursor: Cursor,
}

impl File {
    /// Opens `path` read-only.
    ///
    /// # Errors
    ///
    /// The kernel's, with the path in the message (`NotFound` for a missing file).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::File::open("/dev/null").await?;
    /// assert_eq!(f.read_at(&mut [0u8; 8], 0).await?, 0);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` write-only, creating it or truncating it to 0 bytes.
    ///
    /// # Errors
    ///
    /// The kernel's, with the path in the message.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-create-{}", std::process::id()));
    /// let f = hiver_runtime::fs::File::create(&path).await?;
    /// assert_eq!(f.metadata().await?.len(), 0);
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates `path` read-write, failing with `AlreadyExists` if it exists.
    ///
    /// # Errors
    ///
    /// The kernel's, with the path in the message.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let e = hiver_runtime::fs::File::create_new("/dev/null").await.unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// A builder of [`OpenOptions`], every option off.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::File::options().write(true).open("/dev/null").await?;
    /// assert_eq!(f.write_at(b"gone", 0).await?, 4);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps a file opened by std (its position and flags stay as they are).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::File::from_std(std::fs::File::open("/dev/null")?);
    /// assert!(!f.metadata().await?.is_file());
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File {
            fd: Arc::new(FileFd::new(file)),
            cursor: Cursor::default(),
        }
    }

    /// Reads at most `buf.len()` bytes at `offset`, without using or moving the file
    /// position; fewer at the end of the file (0 there), and at most 2 MiB in one call
    /// (the bytes go through a buffer of the runtime's: the caller's buffer is never handed
    /// to the kernel). Any number of tasks may read one file at once.
    ///
    /// Cancel safety: dropping the future loses nothing (the file still holds the bytes);
    /// the caller's buffer is never written after the drop. On io_uring the read is
    /// cancelled and the driver keeps its buffer until the kernel lets go.
    ///
    /// # Errors
    ///
    /// The kernel's; `InvalidInput` for an offset beyond `i64::MAX`.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-read-at-{}", std::process::id()));
    /// hiver_runtime::fs::write(&path, b"0123456789").await?;
    /// let f = hiver_runtime::fs::File::open(&path).await?;
    /// let mut buf = [0u8; 4];
    /// assert_eq!(f.read_at(&mut buf, 3).await?, 4);
    /// assert_eq!(&buf, b"3456");
    /// assert_eq!(f.read_at(&mut buf, 8).await?, 2);
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let offset = position(offset)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(MAX_COPY);
        let (r, v) = op::read(&self.fd, take(len), len, Some(offset))
            .map_err(|(e, _)| e)?
            .await;
        let n = r?;
        buf[..n].copy_from_slice(&v[..n]);
        give(v);
        Ok(n)
    }

    /// Reads exactly `buf.len()` bytes at `offset` (several reads if need be).
    ///
    /// Cancel safety: as [`read_at`](Self::read_at); `buf` may hold part of the bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the file ends first; the kernel's.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::File::open("/dev/null").await?;
    /// let e = f.read_exact_at(&mut [0u8; 1], 0).await.unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset).await {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file ended before the buffer was filled",
                    ))
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads at `offset` into `buf`'s spare capacity (`buf.capacity() - buf.len()` bytes
    /// at most, appended after its contents), `buf` given and returned: on io_uring the
    /// kernel writes straight into it, with no copy and no size cap beyond the kernel's
    /// (just under 2 GiB). A `buf` without spare capacity reads nothing (`Ok(0)`).
    ///
    /// Cancel safety: dropping the future drops `buf` (after the kernel lets go of it: the
    /// driver keeps it meanwhile).
    ///
    /// # Errors
    ///
    /// As [`read_at`](Self::read_at). If the ring refused the submission the buffer went
    /// with it, and an empty one is returned.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-owned-{}", std::process::id()));
    /// hiver_runtime::fs::write(&path, b"abcdef").await?;
    /// let f = hiver_runtime::fs::File::open(&path).await?;
    /// let mut buf = Vec::with_capacity(4);
    /// buf.push(b'>');
    /// let (n, buf) = f.read_at_owned(buf, 2).await;
    /// assert_eq!(n?, 3);
    /// assert_eq!(buf, b">cde");
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_at_owned(&self, buf: Vec<u8>, offset: u64) -> (io::Result<usize>, Vec<u8>) {
        if let Err(e) = position(offset) {
            return (Err(e), buf);
        }
        let spare = buf.capacity() - buf.len();
        if spare == 0 {
            return (Ok(0), buf);
        }
        match op::read(&self.fd, buf, spare, Some(offset)) {
            Ok(op) => op.await,
            Err((e, buf)) => (Err(e), buf),
        }
    }

    /// Writes at most `buf.len()` bytes at `offset`, without using or moving the file
    /// position; at most 2 MiB in one call (copied into a buffer of the runtime's). On an
    /// append-mode file Linux appends instead, as `pwrite` does.
    ///
    /// Cancel safety: a write whose future is dropped after it started still completes
    /// (its outcome unreported); one dropped before started wrote nothing. Positional
    /// writes are not ordered among themselves.
    ///
    /// # Errors
    ///
    /// The kernel's; `InvalidInput` for an offset beyond `i64::MAX`.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-write-at-{}", std::process::id()));
    /// let f = hiver_runtime::fs::File::create(&path).await?;
    /// assert_eq!(f.write_at(b"world", 6).await?, 5);
    /// assert_eq!(f.write_at(b"hello ", 0).await?, 6);
    /// assert_eq!(hiver_runtime::fs::read(&path).await?, b"hello world");
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let offset = position(offset)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let mut v = take(buf.len().min(MAX_COPY));
        v.extend_from_slice(&buf[..buf.len().min(MAX_COPY)]);
        let (r, v) = op::write(&self.fd, v, Some(offset))
            .map_err(|(e, _)| e)?
            .await;
        give(v);
        r
    }

    /// Writes all of `buf` at `offset` (several writes if need be).
    ///
    /// Cancel safety: a prefix of `buf` may have been written.
    ///
    /// # Errors
    ///
    /// `WriteZero` if the file takes no byte; the kernel's.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-all-at-{}", std::process::id()));
    /// let f = hiver_runtime::fs::File::create(&path).await?;
    /// f.write_all_at(&[1u8; 5000], 100).await?;
    /// assert_eq!(f.metadata().await?.len(), 5100);
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_at(buf, offset).await {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the file accepted no bytes",
                    ))
                }
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes `buf` at `offset`, `buf` given and returned: on io_uring the kernel reads
    /// straight from it (no copy, no size cap beyond the kernel's). The count may be short.
    ///
    /// Cancel safety: as [`write_at`](Self::write_at).
    ///
    /// # Errors
    ///
    /// As [`write_at`](Self::write_at). If the ring refused the submission the buffer went
    /// with it, and an empty one is returned.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::File::options().write(true).open("/dev/null").await?;
    /// let (n, buf) = f.write_at_owned(vec![9u8; 100], 0).await;
    /// assert_eq!((n?, buf.len()), (100, 100));
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_at_owned(&self, buf: Vec<u8>, offset: u64) -> (io::Result<usize>, Vec<u8>) {
        if let Err(e) = position(offset) {
            return (Err(e), buf);
        }
        if buf.is_empty() {
            return (Ok(0), buf);
        }
        match op::write(&self.fd, buf, Some(offset)) {
            Ok(op) => op.await,
            Err((e, buf)) => (Err(e), buf),
        }
    }

    /// Reads at most `buf.len()` bytes (2 MiB at most) at the file position, which moves
    /// past them; 0 at the end of the file.
    ///
    /// Cancel safety: no byte is lost; bytes read for a dropped call are returned by the
    /// next reads.
    ///
    /// # Errors
    ///
    /// The kernel's; the error of a write whose future was dropped.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-read-{}", std::process::id()));
    /// hiver_runtime::fs::write(&path, b"abc").await?;
    /// let mut f = hiver_runtime::fs::File::open(&path).await?;
    /// let mut buf = [0u8; 2];
    /// assert_eq!(f.read(&mut buf).await?, 2);
    /// assert_eq!(f.read(&mut buf).await?, 1);
    /// assert_eq!(f.read(&mut buf).await?, 0);
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.cursor.read(&self.fd, buf).await
    }

    /// Reads from the file position to the end of the file, appending to `buf`; the
    /// number of bytes read.
    ///
    /// Cancel safety: bytes already appended to `buf` are not read again.
    ///
    /// # Errors
    ///
    /// The kernel's (bytes read before it stay in `buf`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-to-end-{}", std::process::id()));
    /// hiver_runtime::fs::write(&path, b"whole").await?;
    /// let mut f = hiver_runtime::fs::File::open(&path).await?;
    /// let mut all = Vec::new();
    /// assert_eq!(f.read_to_end(&mut all).await?, 5);
    /// assert_eq!(all, b"whole");
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let start = buf.len();
        let mut chunk = 64 * 1024;
        loop {
            let sink = &mut VecSink {
                vec: &mut *buf,
                room: chunk,
            };
            let n = match self.cursor.read_into(&self.fd, Dest::Sink(sink)).await {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(buf.len() - start);
            }
            if n == chunk {
                chunk = (chunk * 2).min(MAX_COPY);
            }
        }
    }

    /// Writes `buf` at the file position (at the end in append mode), which moves past
    /// the bytes; at most 2 MiB of it in one call, all of those before it returns.
    ///
    /// Cancel safety: a write whose future is dropped after it started still completes;
    /// the next cursor call (or [`flush`](Self::flush)) waits for it and reports its
    /// error. Writes stay in order.
    ///
    /// # Errors
    ///
    /// The kernel's; the error of an earlier write whose future was dropped.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::File::options().write(true).open("/dev/null").await?;
    /// let mut f = f;
    /// assert_eq!(f.write(b"bytes").await?, 5);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.cursor.write(&self.fd, buf).await
    }

    /// Writes all of `buf` at the file position.
    ///
    /// Cancel safety: a prefix of `buf` may have been written (as tokio's).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-write-all-{}", std::process::id()));
    /// let mut f = hiver_runtime::fs::File::create(&path).await?;
    /// f.write_all(b"first ").await?;
    /// f.write_all(b"second").await?;
    /// assert_eq!(hiver_runtime::fs::read(&path).await?, b"first second");
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await {
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Moves the file position; the new position from the start. (`lseek` does no I/O on
    /// local file systems: it runs in place on every driver.)
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a position before the start; the error of a write whose future
    /// was dropped.
    ///
    /// ```
    /// use std::io::SeekFrom;
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-seek-{}", std::process::id()));
    /// hiver_runtime::fs::write(&path, b"0123456789").await?;
    /// let mut f = hiver_runtime::fs::File::open(&path).await?;
    /// assert_eq!(f.seek(SeekFrom::End(-3)).await?, 7);
    /// let mut buf = [0u8; 3];
    /// f.read(&mut buf).await?;
    /// assert_eq!(&buf, b"789");
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.cursor.seek(&self.fd, pos).await
    }

    /// Waits for a cursor write whose future was dropped, and reports its error. (Nothing
    /// is buffered in user space: a write that returned has reached the kernel.)
    ///
    /// # Errors
    ///
    /// That write's.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let mut f = hiver_runtime::fs::File::options().write(true).open("/dev/null").await?;
    /// f.write_all(b"x").await?;
    /// f.flush().await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        self.cursor.flush(&self.fd).await
    }

    /// Flushes the file's data and metadata to its device (`fsync`). Writes whose futures
    /// completed are covered; a cursor write whose future was dropped is covered once
    /// [`flush`](Self::flush) returned.
    ///
    /// # Errors
    ///
    /// The kernel's (`EIO`: the data may be lost).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-sync-{}", std::process::id()));
    /// let f = hiver_runtime::fs::File::create(&path).await?;
    /// f.write_all_at(b"durable", 0).await?;
    /// f.sync_all().await?;
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn sync_all(&self) -> io::Result<()> {
        self.sync(false).await
    }

    /// Flushes the file's data (and the metadata needed to read it back, such as its
    /// size) to its device (`fdatasync`).
    ///
    /// # Errors
    ///
    /// The kernel's.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-datasync-{}", std::process::id()));
    /// let f = hiver_runtime::fs::File::create(&path).await?;
    /// f.write_all_at(b"data", 0).await?;
    /// f.sync_data().await?;
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn sync_data(&self) -> io::Result<()> {
        self.sync(true).await
    }

    async fn sync(&self, data_only: bool) -> io::Result<()> {
        match route(Kind::Fsync)? {
            #[cfg(target_os = "linux")]
            Route::Ring => {
                use crate::driver::uring::file_ops;
                let (raw, keep) = (self.fd.raw(), self.keep());
                op::ring_status(|d| file_ops::fsync(d, raw, keep, data_only)).await
            }
            Route::Pool => {
                let fd = self.fd.clone();
                pool(move || {
                    if data_only {
                        fd.file().sync_data()
                    } else {
                        fd.file().sync_all()
                    }
                })
                .await
            }
        }
    }

    /// The file's metadata (`statx` on io_uring, `fstat` on the pool).
    ///
    /// # Errors
    ///
    /// The kernel's.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-fmeta-{}", std::process::id()));
    /// let f = hiver_runtime::fs::File::create(&path).await?;
    /// f.write_all_at(b"12345", 0).await?;
    /// let meta = f.metadata().await?;
    /// assert!(meta.is_file() && meta.len() == 5);
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        match route(Kind::Statx)? {
            #[cfg(target_os = "linux")]
            Route::Ring => {
                use crate::driver::uring::{file_ops, ops};
                let (raw, keep) = (self.fd.raw(), self.keep());
                let (done, op) = op::ring(|d| file_ops::stat_fd(d, raw, keep)).await?;
                ops::result(done)?;
                Ok(op.with_payload(|p| Metadata::from_statx(p.statx())))
            }
            Route::Pool => {
                let fd = self.fd.clone();
                pool(move || fd.file().metadata().map(|m| Metadata::from_std(&m))).await
            }
        }
    }

    /// Truncates or extends the file to `len` bytes (an extension reads as zeros); the
    /// file position does not move. On io_uring this is `IORING_OP_FTRUNCATE` where the
    /// kernel has it (Linux 6.9), else it runs on the blocking pool.
    ///
    /// # Errors
    ///
    /// The kernel's (`InvalidInput` for a file not open for writing, or `len` beyond
    /// `i64::MAX`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-set-len-{}", std::process::id()));
    /// let f = hiver_runtime::fs::File::create(&path).await?;
    /// f.set_len(4096).await?;
    /// assert_eq!(f.metadata().await?.len(), 4096);
    /// f.set_len(10).await?;
    /// assert_eq!(f.metadata().await?.len(), 10);
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        let len = position(len)?;
        match route(Kind::Ftruncate)? {
            #[cfg(target_os = "linux")]
            Route::Ring => {
                use crate::driver::uring::file_ops;
                let (raw, keep) = (self.fd.raw(), self.keep());
                op::ring_status(|d| file_ops::ftruncate(d, raw, keep, len)).await
            }
            Route::Pool => {
                let fd = self.fd.clone();
                pool(move || fd.file().set_len(len)).await
            }
        }
    }

    /// What keeps the descriptor open under a ring operation.
    #[cfg(target_os = "linux")]
    fn keep(&self) -> crate::driver::uring::file_ops::Keep {
        self.fd.clone()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
