//! Errors of path operations: the kind and the cause of the underlying error, with the
//! operation and the path in the message (std leaves the path out; users want it).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// `op` on `path` failed with `source`.
#[derive(Debug)]
struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to {}", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `e`, of the same kind, saying that `op` on `path` failed (the original error is its
/// `source`).
pub(crate) fn at(op: &'static str, path: &Path, e: io::Error) -> io::Error {
    wrap(op, path, None, e)
}

/// As [`at`] for an operation on two paths (rename).
pub(crate) fn at_two(op: &'static str, from: &Path, to: &Path, e: io::Error) -> io::Error {
    wrap(op, from, Some(to), e)
}

fn wrap(op: &'static str, path: &Path, to: Option<&Path>, source: io::Error) -> io::Error {
    io::Error::new(
        source.kind(),
        PathError {
            op,
            path: path.to_owned(),
            to: to.map(Path::to_owned),
            source,
        },
    )
}

/// `path` as the NUL-terminated string the kernel reads (io_uring path operations).
#[cfg(target_os = "linux")]
pub(crate) fn c_path(path: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_path_and_the_kind_stays() {
        let e = at(
            "open",
            Path::new("/no/such"),
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("open /no/such: "), "{e}");
        let source = std::error::Error::source(e.get_ref().expect("custom error"));
        assert!(source.is_some());
        let r = at_two(
            "rename",
            Path::new("a"),
            Path::new("b"),
            io::Error::other("x"),
        );
        assert_eq!(r.to_string(), "rename a to b: x");
    }
}
