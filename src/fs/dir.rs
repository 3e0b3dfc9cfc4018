//! Calls on directory entries: [`remove_file`], [`rename`], [`create_dir`],
//! [`create_dir_all`], [`remove_dir`], [`metadata`], [`symlink_metadata`]. On io_uring each
//! is one ring operation (`UNLINKAT`, `RENAMEAT`, `MKDIRAT`, `STATX`), falling back to the
//! blocking pool for an opcode the kernel lacks (`MKDIRAT` before Linux 5.15); elsewhere
//! std's call runs on the blocking pool.

use std::io;
use std::path::Path;

use super::error;
use super::metadata::Metadata;
use super::op::{pool, route, Kind, Route};

/// Mode of a directory [`create_dir`] makes (before the umask), as std's.
const DIR_MODE: u32 = 0o777;

/// Removes the file (or symlink) at `path`.
///
/// # Errors
///
/// The kernel's, with the path in the message (`NotFound`; `IsADirectory` for a
/// directory: see [`remove_dir`]).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("hiver-doc-remove-{}", std::process::id()));
/// hiver_runtime::fs::write(&path, b"x").await?;
/// hiver_runtime::fs::remove_file(&path).await?;
/// let again = hiver_runtime::fs::remove_file(&path).await.unwrap_err();
/// assert_eq!(again.kind(), std::io::ErrorKind::NotFound);
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    unlink(path, false)
        .await
        .map_err(|e| error::at("remove file", path, e))
}

/// Removes the empty directory at `path`.
///
/// # Errors
///
/// The kernel's, with the path in the message (`DirectoryNotEmpty`, `NotFound`,
/// `NotADirectory`).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let dir = std::env::temp_dir().join(format!("hiver-doc-rmdir-{}", std::process::id()));
/// hiver_runtime::fs::create_dir(&dir).await?;
/// hiver_runtime::fs::remove_dir(&dir).await?;
/// assert!(!dir.exists());
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    unlink(path, true)
        .await
        .map_err(|e| error::at("remove directory", path, e))
}

async fn unlink(path: &Path, dir: bool) -> io::Result<()> {
    match route(Kind::Unlink)? {
        #[cfg(target_os = "linux")]
        Route::Ring => {
            use crate::driver::uring::file_ops;
            let c = error::c_path(path)?;
            super::op::ring_status(|d| file_ops::unlink(d, c, dir)).await
        }
        Route::Pool => {
            let path = path.to_owned();
            pool(move || {
                if dir {
                    std::fs::remove_dir(path)
                } else {
                    std::fs::remove_file(path)
                }
            })
            .await
        }
    }
}

/// Renames `from` to `to`, replacing `to` if it is a file (or an empty directory, when
/// `from` is one). Both must be on one file system.
///
/// # Errors
///
/// The kernel's, with both paths in the message (`NotFound`, `CrossesDevices`, ...).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let tmp = std::env::temp_dir();
/// let (a, b) = (tmp.join(format!("hiver-doc-a-{}", std::process::id())), tmp.join(format!("hiver-doc-b-{}", std::process::id())));
/// hiver_runtime::fs::write(&a, b"moved").await?;
/// hiver_runtime::fs::rename(&a, &b).await?;
/// assert_eq!(hiver_runtime::fs::read(&b).await?, b"moved");
/// hiver_runtime::fs::remove_file(&b).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    rename_paths(from, to)
        .await
        .map_err(|e| error::at_two("rename", from, to, e))
}

async fn rename_paths(from: &Path, to: &Path) -> io::Result<()> {
    match route(Kind::Rename)? {
        #[cfg(target_os = "linux")]
        Route::Ring => {
            use crate::driver::uring::file_ops;
            let (f, t) = (error::c_path(from)?, error::c_path(to)?);
            super::op::ring_status(|d| file_ops::rename(d, f, t)).await
        }
        Route::Pool => {
            let (from, to) = (from.to_owned(), to.to_owned());
            pool(move || std::fs::rename(from, to)).await
        }
    }
}

/// Creates the directory `path` (its parent must exist).
///
/// # Errors
///
/// The kernel's, with the path in the message (`AlreadyExists`, `NotFound` for a missing
/// parent).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let dir = std::env::temp_dir().join(format!("hiver-doc-mkdir-{}", std::process::id()));
/// hiver_runtime::fs::create_dir(&dir).await?;
/// assert!(hiver_runtime::fs::metadata(&dir).await?.is_dir());
/// hiver_runtime::fs::remove_dir(&dir).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    mkdir(path)
        .await
        .map_err(|e| error::at("create directory", path, e))
}

async fn mkdir(path: &Path) -> io::Result<()> {
    match route(Kind::Mkdir)? {
        #[cfg(target_os = "linux")]
        Route::Ring => {
            use crate::driver::uring::file_ops;
            let c = error::c_path(path)?;
            super::op::ring_status(|d| file_ops::mkdir(d, c, DIR_MODE)).await
        }
        Route::Pool => {
            let path = path.to_owned();
            pool(move || {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new().mode(DIR_MODE).create(path)
            })
            .await
        }
    }
}

/// Creates the directory `path` and every missing parent; a directory that already exists
/// is fine (another task creating one at the same time too).
///
/// # Errors
///
/// The kernel's, with the path in the message (`AlreadyExists` if `path` or a parent is a
/// file, `PermissionDenied`, ...).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let top = std::env::temp_dir().join(format!("hiver-doc-mkdirs-{}", std::process::id()));
/// let deep = top.join("a/b/c");
/// hiver_runtime::fs::create_dir_all(&deep).await?;
/// hiver_runtime::fs::create_dir_all(&deep).await?; // already there: fine
/// assert!(hiver_runtime::fs::metadata(&deep).await?.is_dir());
/// std::fs::remove_dir_all(&top)?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    mkdir_all(path)
        .await
        .map_err(|e| error::at("create directories", path, e))
}

async fn mkdir_all(path: &Path) -> io::Result<()> {
    if route(Kind::Mkdir)? == Route::Pool {
        let path = path.to_owned();
        return pool(move || std::fs::create_dir_all(path)).await;
    }
    // Up from `path` to the first ancestor that exists, then down creating each: std's
    // walk, without recursion.
    let mut missing: Vec<&Path> = Vec::new();
    let mut p = path;
    while !p.as_os_str().is_empty() {
        match mkdir_or_dir(p).await {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(p);
                match p.parent() {
                    Some(parent) => p = parent,
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    for p in missing.into_iter().rev() {
        mkdir_or_dir(p).await?;
    }
    Ok(())
}

/// Creates `p`, or finds it already a directory.
async fn mkdir_or_dir(p: &Path) -> io::Result<()> {
    match mkdir(p).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() != io::ErrorKind::NotFound => match stat(p, true).await {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// The metadata of the file at `path`, following symlinks (`statx` on io_uring).
///
/// # Errors
///
/// The kernel's, with the path in the message.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// assert!(hiver_runtime::fs::metadata("/").await?.is_dir());
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref();
    stat(path, true)
        .await
        .map_err(|e| error::at("metadata of", path, e))
}

/// The metadata of `path` itself: a final symlink is described, not followed.
///
/// # Errors
///
/// The kernel's, with the path in the message.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// assert!(!hiver_runtime::fs::symlink_metadata("/").await?.is_symlink());
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref();
    stat(path, false)
        .await
        .map_err(|e| error::at("metadata of", path, e))
}

async fn stat(path: &Path, follow: bool) -> io::Result<Metadata> {
    match route(Kind::Statx)? {
        #[cfg(target_os = "linux")]
        Route::Ring => {
            use crate::driver::uring::{file_ops, ops};
            let c = error::c_path(path)?;
            let (done, op) = super::op::ring(|d| file_ops::stat_path(d, c, follow)).await?;
            ops::result(done)?;
            Ok(op.with_payload(|p| Metadata::from_statx(p.statx())))
        }
        Route::Pool => {
            let path = path.to_owned();
            pool(move || {
                let m = if follow {
                    std::fs::metadata(path)
                } else {
                    std::fs::symlink_metadata(path)
                };
                m.map(|m| Metadata::from_std(&m))
            })
            .await
        }
    }
}
