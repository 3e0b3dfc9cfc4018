//! Asynchronous files: [`File`], [`OpenOptions`], [`Metadata`], and whole-file and
//! directory calls ([`read`], [`write()`], [`read_to_string`], [`remove_file`],
//! [`rename`], [`create_dir`], [`create_dir_all`], [`remove_dir`], [`metadata`],
//! [`symlink_metadata`]), modelled on `std::fs` and `tokio::fs`.
//!
//! **How they run.** On an io_uring worker each call is a ring operation (`OPENAT`,
//! `READ`, `WRITE`, `FSYNC`, `STATX`, `FTRUNCATE`, `UNLINKAT`, `RENAMEAT`, `MKDIRAT`, and
//! `CLOSE` when a [`File`] is dropped), with no helper thread; a call whose opcode the
//! kernel lacks (the ring's probe says so: `FTRUNCATE` needs Linux 6.9, `MKDIRAT` 5.15)
//! runs on the blocking pool instead, that call only. On epoll and kqueue workers every
//! call runs on the blocking pool ([`spawn_blocking`](crate::spawn_blocking)). Every call
//! needs a runtime on the thread: outside one it is an error, not a panic. The
//! `max_ops_per_fd` cap of [`DriverConfig`](crate::driver::DriverConfig) applies to sockets,
//! not to files.
//!
//! **Buffers.** The borrowed forms (`read_at(&mut [u8])`, `write_at(&[u8])`, `read`,
//! `write`) never hand the caller's memory to the kernel: the bytes go through a buffer
//! of the runtime's, at most 2 MiB per call (a larger request is a short count; the
//! `_exact`/`_all` forms loop). The owned forms ([`File::read_at_owned`],
//! [`File::write_at_owned`]) take a `Vec<u8>` and give it back: on io_uring the kernel
//! reads or writes it in place.
//!
//! # Cancel safety
//!
//! The rule of the sockets ([`crate::io`]): a dropped read loses nothing, a write that
//! started completes.
//!
//! | call | if its future is dropped |
//! |---|---|
//! | `read_at`, `read_at_owned`, `read_exact_at` | nothing is lost (the file keeps the bytes); the caller's buffer is never written after the drop; on io_uring the read is cancelled, its memory kept by the driver until the kernel lets go; a pool job finishes and its result is dropped |
//! | `write_at`, `write_at_owned` | a write that started still completes, unreported; one not yet started wrote nothing |
//! | `write_all_at` | a prefix may have been written |
//! | `read` (cursor) | no byte is lost: bytes read for it are returned by the next cursor read |
//! | `write` (cursor) | a write that started still completes, in order; the next cursor call or `flush` reports its error |
//! | `write_all`, `read_to_end` | a prefix may have been written / appended |
//! | `open`, `create` | a file the kernel opened meanwhile is closed |
//! | the others | the operation may or may not have happened |
//!
//! ```
//! use hiver_runtime::fs;
//! # hiver_runtime::Runtime::new()?.block_on(async {
//! let dir = std::env::temp_dir().join(format!("hiver-doc-fs-{}", std::process::id()));
//! fs::create_dir_all(dir.join("logs")).await?;
//! fs::write(dir.join("logs/today"), b"started\n").await?;
//! fs::rename(dir.join("logs/today"), dir.join("logs/yesterday")).await?;
//! assert_eq!(fs::read_to_string(dir.join("logs/yesterday")).await?, "started\n");
//! fs::remove_file(dir.join("logs/yesterday")).await?;
//! fs::remove_dir(dir.join("logs")).await?;
//! fs::remove_dir(&dir).await?;
//! # std::io::Result::Ok(())
//! # })??;
//! # Ok::<(), std::io::Error>(())
//! ```

mod cursor;
mod dir;
mod error;
mod fd;
mod file;
mod metadata;
mod op;
mod open_options;
#[cfg(all(test, target_os = "linux"))]
mod tests;
mod whole;

pub use dir::{
    create_dir, create_dir_all, metadata, remove_dir, remove_file, rename, symlink_metadata,
};
pub use file::File;
pub use metadata::Metadata;
pub use open_options::OpenOptions;
pub use whole::{read, read_to_string, write};
