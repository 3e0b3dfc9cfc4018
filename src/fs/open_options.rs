//! [`OpenOptions`]: how a file is opened, as std's builder of the same name.

use std::io;
use std::path::Path;

use super::error;
use super::file::File;
use super::op::{pool, route, Kind, Route};

/// Options for opening a file: access mode, creation, truncation, permission bits of a new
/// file, extra `O_*` flags. The same rules as std's: at least one of read, write and
/// append; creating or truncating needs write or append access; append and truncate
/// exclude each other. A violated rule is an `InvalidInput` error from
/// [`open`](Self::open).
///
/// On io_uring the open is an `IORING_OP_OPENAT` on the ring; elsewhere std's open runs on
/// the blocking pool. Every file is opened close-on-exec.
///
/// ```
/// use hiver_runtime::fs::OpenOptions;
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("hiver-doc-options-{}", std::process::id()));
/// let mut log = OpenOptions::new().append(true).create(true).open(&path).await?;
/// log.write_all(b"one\n").await?;
/// log.write_all(b"two\n").await?;
/// drop(log);
/// assert_eq!(hiver_runtime::fs::read(&path).await?, b"one\ntwo\n");
/// hiver_runtime::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom_flags: i32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// Every option off; permission bits `0o666` (before the umask) for a created file.
    ///
    /// ```
    /// let mut opts = hiver_runtime::fs::OpenOptions::new();
    /// opts.read(true);
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }

    /// Read access.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::OpenOptions::new().read(true).open("/dev/null").await?;
    /// # drop(f); std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Write access.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let f = hiver_runtime::fs::OpenOptions::new().write(true).open("/dev/null").await?;
    /// # drop(f); std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Append mode: every cursor write goes to the end of the file (`O_APPEND`; implies
    /// write access). Positional writes ([`File::write_at`]) on Linux also append, as
    /// `pwrite` does on an `O_APPEND` file.
    ///
    /// ```
    /// let mut opts = hiver_runtime::fs::OpenOptions::new();
    /// opts.append(true).create(true);
    /// ```
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncate an existing file to 0 bytes (needs write access).
    ///
    /// ```
    /// let mut opts = hiver_runtime::fs::OpenOptions::new();
    /// opts.write(true).truncate(true);
    /// ```
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Create the file if it does not exist (needs write or append access).
    ///
    /// ```
    /// let mut opts = hiver_runtime::fs::OpenOptions::new();
    /// opts.write(true).create(true);
    /// ```
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (`O_CREAT | O_EXCL`;
    /// `create` and `truncate` are then ignored).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let mut opts = hiver_runtime::fs::OpenOptions::new();
    /// let e = opts.write(true).create_new(true).open("/dev/null").await.unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// Permission bits of a file this open creates (before the umask); default `0o666`.
    ///
    /// ```
    /// let mut opts = hiver_runtime::fs::OpenOptions::new();
    /// opts.write(true).create(true).mode(0o600);
    /// ```
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Extra `O_*` flags (such as `O_NOFOLLOW` or `O_DIRECT`); the access-mode bits of
    /// `flags` are ignored, as std ignores them.
    ///
    /// ```
    /// const O_NOFOLLOW: i32 = 0o400000; // Linux x86-64
    /// let mut opts = hiver_runtime::fs::OpenOptions::new();
    /// opts.read(true).custom_flags(O_NOFOLLOW);
    /// ```
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a combination the rules above forbid or a path with a NUL byte;
    /// otherwise the kernel's error (`NotFound`, `AlreadyExists`, `PermissionDenied`, ...),
    /// its message naming the path.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let e = hiver_runtime::fs::OpenOptions::new()
    ///     .read(true)
    ///     .open("/no/such/file")
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// assert!(e.to_string().contains("/no/such/file"));
    /// # std::io::Result::Ok(())
    /// # })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        self.open_path(path)
            .await
            .map_err(|e| error::at("open", path, e))
    }

    async fn open_path(&self, path: &Path) -> io::Result<File> {
        self.check()?;
        match route(Kind::Open)? {
            #[cfg(target_os = "linux")]
            Route::Ring => {
                use crate::driver::uring::file_ops;
                let c = error::c_path(path)?;
                let (flags, mode) = (self.flags(), self.mode);
                let (done, op) = super::op::ring(|d| file_ops::open(d, c, flags, mode)).await?;
                let fd = file_ops::take_fd(&op, done)?;
                Ok(File::from_std(fd.into()))
            }
            Route::Pool => {
                let (opts, path) = (self.to_std(), path.to_owned());
                pool(move || opts.open(path)).await.map(File::from_std)
            }
        }
    }

    /// std's rules on the combinations (the same messages on every driver).
    fn check(&self) -> io::Result<()> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        let writes = self.write || self.append;
        if !self.read && !writes {
            return invalid("at least one of read, write and append access is needed");
        }
        if !writes && (self.truncate || self.create || self.create_new) {
            return invalid("creating or truncating a file needs write or append access");
        }
        if self.append && self.truncate && !self.create_new {
            return invalid("a file cannot be opened both to append and to truncate");
        }
        Ok(())
    }

    /// The `open(2)` flags, once [`check`](Self::check) passed.
    #[cfg(target_os = "linux")]
    fn flags(&self) -> u32 {
        use rustix::fs::OFlags;
        const ACCMODE: u32 = 0o3;
        let mut f = match (self.read, self.write || self.append) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        } | OFlags::CLOEXEC;
        if self.append {
            f |= OFlags::APPEND;
        }
        if self.create_new {
            f |= OFlags::CREATE | OFlags::EXCL;
        } else {
            if self.create {
                f |= OFlags::CREATE;
            }
            if self.truncate {
                f |= OFlags::TRUNC;
            }
        }
        f.bits() | (self.custom_flags as u32 & !ACCMODE)
    }

    /// The same options as std's builder (the blocking pool's path).
    fn to_std(&self) -> std::fs::OpenOptions {
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = std::fs::OpenOptions::new();
        o.read(self.read)
            .write(self.write)
            .append(self.append)
            .truncate(self.truncate)
            .create(self.create)
            .create_new(self.create_new)
            .mode(self.mode)
            .custom_flags(self.custom_flags);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_rules_on_combinations() {
        let kind = |o: &OpenOptions| o.check().map_err(|e| e.kind());
        assert_eq!(kind(&OpenOptions::new()), Err(io::ErrorKind::InvalidInput));
        assert_eq!(
            kind(OpenOptions::new().read(true).create(true)),
            Err(io::ErrorKind::InvalidInput)
        );
        assert_eq!(
            kind(OpenOptions::new().append(true).truncate(true)),
            Err(io::ErrorKind::InvalidInput)
        );
        assert_eq!(kind(OpenOptions::new().append(true).create(true)), Ok(()));
        assert_eq!(kind(OpenOptions::new().read(true)), Ok(()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn flags_match_open_2() {
        let f = |o: &OpenOptions| o.flags();
        const CLOEXEC: u32 = 0o2_000_000;
        assert_eq!(f(OpenOptions::new().read(true)), CLOEXEC);
        assert_eq!(
            f(OpenOptions::new().write(true).create(true).truncate(true)),
            CLOEXEC | 0o1 | 0o100 | 0o1000
        );
        assert_eq!(
            f(OpenOptions::new().read(true).append(true)),
            CLOEXEC | 0o2 | 0o2000
        );
        assert_eq!(
            f(OpenOptions::new()
                .write(true)
                .create(true)
                .create_new(true)
                .truncate(true)),
            CLOEXEC | 0o1 | 0o100 | 0o200
        );
        // Access bits in custom flags are ignored.
        assert_eq!(
            f(OpenOptions::new().read(true).custom_flags(0o400_000 | 0o2)),
            CLOEXEC | 0o400_000
        );
    }
}
