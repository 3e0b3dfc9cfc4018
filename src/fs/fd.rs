//! A file's descriptor as every operation on it shares it: operations still in flight
//! (an io_uring operation whose future was dropped, a blocking-pool job) hold a reference,
//! so the descriptor is closed only after the last of them, and its number is never reused
//! under one.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// An open file, closed when the last reference goes: through the ring on an io_uring
/// thread (after whatever is queued there), else with a plain `close`.
#[derive(Debug)]
pub(crate) struct FileFd {
    file: Option<std::fs::File>,
}

impl FileFd {
    pub(crate) fn new(file: std::fs::File) -> FileFd {
        FileFd { file: Some(file) }
    }

    /// The file, for std's calls on the blocking pool.
    pub(crate) fn file(&self) -> &std::fs::File {
        self.file.as_ref().expect("file present until drop")
    }

    #[cfg(target_os = "linux")]
    pub(crate) fn raw(&self) -> RawFd {
        self.file().as_raw_fd()
    }
}

impl AsFd for FileFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file().as_fd()
    }
}

impl AsRawFd for FileFd {
    fn as_raw_fd(&self) -> RawFd {
        self.file().as_raw_fd()
    }
}

impl Drop for FileFd {
    fn drop(&mut self) {
        let Some(file) = self.file.take() else { return };
        #[cfg(target_os = "linux")]
        crate::driver::uring::file_ops::close(file.into());
        #[cfg(not(target_os = "linux"))]
        drop(file);
    }
}
