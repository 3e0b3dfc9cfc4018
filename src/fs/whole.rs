//! Whole-file calls: [`read`], [`read_to_string`], [`write`].

use std::io;
use std::path::Path;

use super::error;
use super::file::File;
use super::op::{pool, route, Kind, Route};

/// Reads the whole file at `path`.
///
/// On io_uring: an open, a `statx` for the size, and reads straight into the returned
/// vector (one read for a file whose size is known, plus one that finds the end), all on
/// the ring. Elsewhere std's `fs::read` on the blocking pool.
///
/// # Errors
///
/// The kernel's, with the path in the message; `OutOfMemory` when the file is larger than
/// memory can hold.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("hiver-doc-fs-read-{}", std::process::id()));
/// hiver_runtime::fs::write(&path, [1u8, 2, 3]).await?;
/// assert_eq!(hiver_runtime::fs::read(&path).await?, [1, 2, 3]);
/// hiver_runtime::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    read_path(path)
        .await
        .map_err(|e| error::at("read", path, e))
}

async fn read_path(path: &Path) -> io::Result<Vec<u8>> {
    if route(Kind::Read)? == Route::Pool {
        let path = path.to_owned();
        return pool(move || std::fs::read(path)).await;
    }
    let f = File::open(path).await?;
    // The size is a hint: a file that grows meanwhile is read to its new end.
    let hint = f.metadata().await.map_or(0, |m| m.len());
    let mut buf = Vec::new();
    let hint = usize::try_from(hint)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    buf.try_reserve_exact(hint).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            "the file is larger than memory can hold",
        )
    })?;
    loop {
        if buf.capacity() == buf.len() {
            buf.reserve(buf.len().max(8 * 1024));
        }
        let offset = buf.len() as u64;
        let (r, b) = f.read_at_owned(buf, offset).await;
        buf = b;
        match r {
            Ok(0) => return Ok(buf),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads the whole file at `path` as UTF-8.
///
/// # Errors
///
/// As [`read`]; `InvalidData` if the bytes are not UTF-8.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("hiver-doc-to-string-{}", std::process::id()));
/// hiver_runtime::fs::write(&path, "héllo").await?;
/// assert_eq!(hiver_runtime::fs::read_to_string(&path).await?, "héllo");
/// hiver_runtime::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref();
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|e| {
        error::at(
            "read",
            path,
            io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()),
        )
    })
}

/// Writes `contents` as the whole file at `path`, creating it or replacing what it held.
///
/// On io_uring: an open and writes on the ring (through buffers of at most 2 MiB);
/// elsewhere std's `fs::write` on the blocking pool (with a copy of `contents`).
///
/// # Errors
///
/// The kernel's, with the path in the message.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("hiver-doc-fs-write-{}", std::process::id()));
/// hiver_runtime::fs::write(&path, b"old contents").await?;
/// hiver_runtime::fs::write(&path, b"new").await?;
/// assert_eq!(hiver_runtime::fs::read(&path).await?, b"new");
/// hiver_runtime::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let (path, contents) = (path.as_ref(), contents.as_ref());
    write_path(path, contents)
        .await
        .map_err(|e| error::at("write", path, e))
}

async fn write_path(path: &Path, contents: &[u8]) -> io::Result<()> {
    if route(Kind::Write)? == Route::Pool {
        let (path, contents) = (path.to_owned(), contents.to_vec());
        return pool(move || std::fs::write(path, contents)).await;
    }
    File::create(path).await?.write_all_at(contents, 0).await
}
