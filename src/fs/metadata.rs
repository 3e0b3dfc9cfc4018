//! [`Metadata`]: what a file's inode says, filled from `statx` on io_uring and from std's
//! `fstat`/`stat` on the blocking pool.

use std::io;
use std::time::SystemTime;

/// `S_IFMT` and the file types in it.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

/// Metadata about a file: its size, type, permission bits and times.
///
/// Returned by [`File::metadata`](super::File::metadata), [`metadata`](super::metadata)
/// and [`symlink_metadata`](super::symlink_metadata).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let dir = std::env::temp_dir().join(format!("hiver-doc-metadata-{}", std::process::id()));
/// hiver_runtime::fs::write(&dir, b"four").await?;
/// let meta = hiver_runtime::fs::metadata(&dir).await?;
/// assert_eq!(meta.len(), 4);
/// assert!(meta.is_file() && !meta.is_dir());
/// assert!(meta.modified()? <= std::time::SystemTime::now());
/// hiver_runtime::fs::remove_file(&dir).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    len: u64,
    mode: u32,
    modified: Option<SystemTime>,
    accessed: Option<SystemTime>,
    created: Option<SystemTime>,
}

impl Metadata {
    /// The size of the file in bytes.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-len-{}", std::process::id()));
    /// hiver_runtime::fs::write(&path, vec![7u8; 1000]).await?;
    /// assert_eq!(hiver_runtime::fs::metadata(&path).await?.len(), 1000);
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty (`len() == 0`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("hiver-doc-empty-{}", std::process::id()));
    /// hiver_runtime::fs::write(&path, b"").await?;
    /// assert!(hiver_runtime::fs::metadata(&path).await?.is_empty());
    /// hiver_runtime::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this is a regular file.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// assert!(!hiver_runtime::fs::metadata(std::env::temp_dir()).await?.is_file());
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    /// Whether this is a directory.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// assert!(hiver_runtime::fs::metadata(std::env::temp_dir()).await?.is_dir());
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// Whether this is a symbolic link (only [`symlink_metadata`](super::symlink_metadata)
    /// describes a link rather than its target).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let link = std::env::temp_dir().join(format!("hiver-doc-link-{}", std::process::id()));
    /// std::os::unix::fs::symlink(std::env::temp_dir(), &link)?;
    /// assert!(hiver_runtime::fs::symlink_metadata(&link).await?.is_symlink());
    /// assert!(hiver_runtime::fs::metadata(&link).await?.is_dir());
    /// hiver_runtime::fs::remove_file(&link).await?;
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    /// The raw `st_mode`: file type and permission bits (as std's `MetadataExt::mode`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let mode = hiver_runtime::fs::metadata(std::env::temp_dir()).await?.mode();
    /// assert_eq!(mode & 0o170000, 0o040000); // S_IFDIR
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// The permission bits, as std's type.
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let perms = hiver_runtime::fs::metadata(std::env::temp_dir()).await?.permissions();
    /// assert_ne!(perms.mode() & 0o700, 0);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn permissions(&self) -> std::fs::Permissions {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(self.mode)
    }

    /// The last modification time.
    ///
    /// # Errors
    ///
    /// `Unsupported` when the file system does not report it.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let t = hiver_runtime::fs::metadata(std::env::temp_dir()).await?.modified()?;
    /// assert!(t > std::time::UNIX_EPOCH);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn modified(&self) -> io::Result<SystemTime> {
        known(self.modified, "modification")
    }

    /// The last access time.
    ///
    /// # Errors
    ///
    /// `Unsupported` when the file system does not report it.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let t = hiver_runtime::fs::metadata(std::env::temp_dir()).await?.accessed()?;
    /// assert!(t > std::time::UNIX_EPOCH);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accessed(&self) -> io::Result<SystemTime> {
        known(self.accessed, "access")
    }

    /// The creation time (`statx`'s birth time).
    ///
    /// # Errors
    ///
    /// `Unsupported` when the file system does not keep it (tmpfs before Linux 6.x, many
    /// network file systems).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let meta = hiver_runtime::fs::metadata(std::env::temp_dir()).await?;
    /// match meta.created() {
    ///     Ok(t) => assert!(t <= std::time::SystemTime::now()),
    ///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported),
    /// }
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn created(&self) -> io::Result<SystemTime> {
        known(self.created, "creation")
    }

    /// From std's metadata (the blocking pool's path).
    pub(crate) fn from_std(m: &std::fs::Metadata) -> Metadata {
        use std::os::unix::fs::MetadataExt;
        Metadata {
            len: m.len(),
            mode: m.mode(),
            modified: m.modified().ok(),
            accessed: m.accessed().ok(),
            created: m.created().ok(),
        }
    }

    /// From what an io_uring `statx` wrote: the fields its mask says were filled.
    #[cfg(target_os = "linux")]
    pub(crate) fn from_statx(s: &hiver_sys::uring::Statx) -> Metadata {
        use hiver_sys::uring::statx_mask as m;
        let time = |bit: u32, t: &hiver_sys::uring::StatxTimestamp| {
            (s.mask & bit != 0)
                .then(|| system_time(t.tv_sec, t.tv_nsec))
                .flatten()
        };
        Metadata {
            len: s.size,
            mode: u32::from(s.mode),
            modified: time(m::MTIME, &s.mtime),
            accessed: time(m::ATIME, &s.atime),
            created: time(m::BTIME, &s.btime),
        }
    }
}

fn known(t: Option<SystemTime>, what: &str) -> io::Result<SystemTime> {
    t.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("the file system does not report the file's {what} time"),
        )
    })
}

/// `sec` seconds and `nsec` nanoseconds from the epoch (`sec` negative: before it).
#[cfg(target_os = "linux")]
fn system_time(sec: i64, nsec: u32) -> Option<SystemTime> {
    use std::time::{Duration, UNIX_EPOCH};
    if nsec >= 1_000_000_000 {
        return None;
    }
    let whole = Duration::from_secs(sec.unsigned_abs());
    let base = if sec >= 0 {
        UNIX_EPOCH.checked_add(whole)?
    } else {
        UNIX_EPOCH.checked_sub(whole)?
    };
    base.checked_add(Duration::from_nanos(u64::from(nsec)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn times_before_and_after_the_epoch() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(
            system_time(1, 5),
            Some(UNIX_EPOCH + Duration::from_nanos(1_000_000_005))
        );
        assert_eq!(
            system_time(-2, 500_000_000),
            Some(UNIX_EPOCH - Duration::from_millis(1500))
        );
        assert_eq!(system_time(0, 1_000_000_000), None);
    }

    #[test]
    fn the_type_comes_from_the_mode() {
        let m = |mode| Metadata {
            len: 0,
            mode,
            modified: None,
            accessed: None,
            created: None,
        };
        assert!(m(0o100_644).is_file());
        assert!(m(0o040_755).is_dir());
        assert!(m(0o120_777).is_symlink());
        assert!(!m(0o020_666).is_file()); // a character device
        assert_eq!(
            m(0).modified().unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
    }
}
