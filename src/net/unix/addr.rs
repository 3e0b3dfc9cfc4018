//! Unix-domain addresses: a path given to `bind`, `connect` or `send_to` in the kernel's
//! encoding (on Linux a path starting with a NUL byte names the abstract namespace, as in
//! tokio and mio), and the kernel's answer as std's [`SocketAddr`].

use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use hiver_sys::sockaddr::{SockAddrBuf, UnixName};
use rustix::net::{SocketAddrAny, SocketAddrUnix};

use crate::net::socket::{with_context, Socket};

/// The longest path a Unix-domain address holds with its terminating NUL (the size of
/// `sun_path`, less one): std's `SocketAddr` needs the NUL, so hiver does too.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX_PATH: usize = 107;
/// The longest path a Unix-domain address holds with its terminating NUL.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const MAX_PATH: usize = 103;

/// `path` in the kernel's encoding; `what` names the call for the error message.
pub(crate) fn encode(path: &Path, what: &str) -> io::Result<SocketAddrAny> {
    let bytes = path.as_os_str().as_bytes();
    let invalid = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {}: {why}", path.display()),
        )
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let [0, name @ ..] = bytes {
        return SocketAddrUnix::new_abstract_name(name)
            .map(Into::into)
            .map_err(|_| invalid(format!("an abstract name holds at most {MAX_PATH} bytes")));
    }
    if bytes.is_empty() {
        return Err(invalid("a Unix socket path must not be empty".into()));
    }
    if bytes.len() > MAX_PATH {
        return Err(invalid(format!(
            "a Unix socket path holds at most {MAX_PATH} bytes, this one has {}",
            bytes.len()
        )));
    }
    if bytes.contains(&0) {
        return Err(invalid(
            "a Unix socket path must not contain a NUL byte".into(),
        ));
    }
    SocketAddrUnix::new(bytes)
        .map(Into::into)
        .map_err(|e| with_context(e, format_args!("{what} {}", path.display())))
}

/// The address the kernel reported, as std's type.
///
/// # Errors
///
/// `InvalidData` for an address of another family, or a path of full `sun_path` length
/// that has no room for a NUL (which std's type cannot hold).
pub(crate) fn decode(buf: &SockAddrBuf) -> io::Result<SocketAddr> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    match buf.unix_name() {
        None => Err(invalid("socket address is not a Unix-domain address")),
        Some(UnixName::Unnamed) => unnamed(),
        Some(UnixName::Path(p)) => {
            SocketAddr::from_pathname(Path::new(std::ffi::OsStr::from_bytes(p))).map_err(|_| {
                invalid("the peer's Unix socket path is too long for std's SocketAddr")
            })
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Some(UnixName::Abstract(name)) => {
            #[cfg(target_os = "android")]
            use std::os::android::net::SocketAddrExt;
            #[cfg(target_os = "linux")]
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Some(UnixName::Abstract(_)) => unnamed(),
    }
}

/// The address of a socket that has no name.
fn unnamed() -> io::Result<SocketAddr> {
    // std's `sockaddr_un` of an empty path has the length of the family alone: unnamed.
    SocketAddr::from_pathname("")
}

/// The socket's own address.
pub(crate) fn local(sock: &Socket) -> io::Result<SocketAddr> {
    let any = sock.local_name()?;
    decode(&SockAddrBuf::from_any(&any)).or_else(|_| via_std(sock.fd(), false))
}

/// The peer's address (unnamed for a peer that did not bind).
pub(crate) fn peer(sock: &Socket) -> io::Result<SocketAddr> {
    let buf = match sock.peer_name()? {
        Some(any) => SockAddrBuf::from_any(&any),
        None => SockAddrBuf::none(),
    };
    decode(&buf).or_else(|_| via_std(sock.fd(), true))
}

/// The peer's address given with an accepted connection, else asked for.
pub(crate) fn accepted(sock: &Socket, given: Option<SocketAddrAny>) -> io::Result<SocketAddr> {
    match given {
        Some(any) => decode(&SockAddrBuf::from_any(&any)).or_else(|_| peer(sock)),
        None => peer(sock),
    }
}

/// std's own answer, for the name this module cannot build std's type from (a path of
/// full length without a NUL, bound by another program): one `dup` of the descriptor.
fn via_std(fd: BorrowedFd<'_>, peer: bool) -> io::Result<SocketAddr> {
    let std_sock = std::os::unix::net::UnixDatagram::from(fd.try_clone_to_owned()?);
    if peer {
        std_sock.peer_addr()
    } else {
        std_sock.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_path_is_the_unnamed_address() {
        assert!(unnamed().unwrap().is_unnamed());
        assert!(decode(&SockAddrBuf::none()).unwrap().is_unnamed());
    }

    #[test]
    fn paths_round_trip() {
        let any = encode(Path::new("/tmp/x.sock"), "bind").unwrap();
        let addr = decode(&SockAddrBuf::from_any(&any)).unwrap();
        assert_eq!(addr.as_pathname(), Some(Path::new("/tmp/x.sock")));
    }

    #[test]
    fn bad_paths_are_errors_that_say_why() {
        let long = "x".repeat(MAX_PATH + 1);
        let e = encode(Path::new(&long), "bind").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("at most"), "{e}");
        assert!(encode(Path::new(&long[..MAX_PATH]), "bind").is_ok());
        let e = encode(Path::new(""), "connect").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = encode(Path::new("a\0b"), "connect").unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
        #[cfg(target_os = "linux")]
        {
            let name = format!("\0{}", "y".repeat(MAX_PATH + 1));
            let e = encode(Path::new(&name), "bind").unwrap_err();
            assert!(e.to_string().contains("abstract"), "{e}");
        }
        let ip = SockAddrBuf::from_std(&"127.0.0.1:1".parse().unwrap());
        assert_eq!(decode(&ip).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_leading_nul_names_the_abstract_namespace() {
        use std::os::linux::net::SocketAddrExt;
        let any = encode(Path::new("\0hiver-test"), "bind").unwrap();
        let addr = decode(&SockAddrBuf::from_any(&any)).unwrap();
        assert_eq!(addr.as_abstract_name(), Some(&b"hiver-test"[..]));
    }
}
