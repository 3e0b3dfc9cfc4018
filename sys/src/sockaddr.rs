//! Socket addresses in the kernel's encoding, in memory an io_uring operation can point at
//! (`connect`, `sendmsg` read one; `accept`, `recvmsg` write one), converted to and from
//! std's `SocketAddr` and rustix's `SocketAddrAny`; and the decoding of a Unix-domain
//! address ([`UnixName`]).
//!
//! # Safety
//!
//! `SockAddrBuf` is plain bytes of `sockaddr_storage` size and alignment plus a length; the
//! only unsafe code copies bytes in and out of it, after checking the length against the
//! storage.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::net::SocketAddr;

use rustix::net::addr::SocketAddrStorage;
use rustix::net::{AddressFamily, SocketAddrAny};

const CAPACITY: usize = std::mem::size_of::<SocketAddrStorage>();

/// Where `sun_path` starts in a `sockaddr_un`.
const SUN_PATH_OFFSET: usize = 2;

/// A Unix-domain socket's name, as [`SockAddrBuf::unix_name`] decodes it.
///
/// ```
/// use hiver_sys::sockaddr::{SockAddrBuf, UnixName};
/// assert_eq!(SockAddrBuf::none().unix_name(), Some(UnixName::Unnamed));
/// let ip = SockAddrBuf::from_std(&"127.0.0.1:1".parse().unwrap());
/// assert_eq!(ip.unix_name(), None, "not a Unix-domain address");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixName<'a> {
    /// No name: an unbound socket (a `socketpair` end, a client that did not bind).
    Unnamed,
    /// A filesystem path, without its terminating NUL.
    Path(&'a [u8]),
    /// A name in Linux's abstract namespace, without the leading NUL.
    Abstract(&'a [u8]),
}

/// A `sockaddr_storage` and its length.
///
/// ```
/// use hiver_sys::sockaddr::SockAddrBuf;
/// let a: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
/// let buf = SockAddrBuf::from_std(&a);
/// assert_eq!(buf.to_std(), Some(a));
/// ```
#[repr(C, align(8))]
#[derive(Clone)]
pub struct SockAddrBuf {
    bytes: [u8; CAPACITY],
    len: u32,
}

static_assertions::const_assert!(
    std::mem::align_of::<SockAddrBuf>() >= std::mem::align_of::<SocketAddrStorage>()
);

impl SockAddrBuf {
    /// Empty storage for the kernel to fill: the length is the capacity.
    pub fn new() -> SockAddrBuf {
        SockAddrBuf {
            bytes: [0; CAPACITY],
            len: CAPACITY as u32,
        }
    }

    /// No address: what the kernel reports for an unnamed sender (length 0). See
    /// [`UnixName`] for an example.
    pub fn none() -> SockAddrBuf {
        SockAddrBuf {
            bytes: [0; CAPACITY],
            len: 0,
        }
    }

    /// The encoding of `addr`.
    pub fn from_std(addr: &SocketAddr) -> SockAddrBuf {
        SockAddrBuf::from_any(&SocketAddrAny::from(*addr))
    }

    /// The encoding of `addr`, any family.
    ///
    /// ```
    /// use hiver_sys::sockaddr::{SockAddrBuf, UnixName};
    /// let unix = rustix::net::SocketAddrUnix::new("/tmp/hiver.sock").unwrap();
    /// let buf = SockAddrBuf::from_any(&unix.into());
    /// assert_eq!(buf.unix_name(), Some(UnixName::Path(&b"/tmp/hiver.sock"[..])));
    /// ```
    pub fn from_any(addr: &SocketAddrAny) -> SockAddrBuf {
        let len = (addr.addr_len() as usize).min(CAPACITY);
        let mut buf = SockAddrBuf::new();
        // SAFETY: `addr` holds `addr_len()` initialized bytes at `as_ptr()`, and `len` is at
        // most that and at most our capacity.
        let src = unsafe { std::slice::from_raw_parts(addr.as_ptr().cast::<u8>(), len) };
        buf.bytes[..len].copy_from_slice(src);
        buf.len = len as u32;
        buf
    }

    /// The address the kernel wrote (or `from_std` encoded); `None` for a length out of
    /// range or a family that is not IPv4/IPv6.
    pub fn to_std(&self) -> Option<SocketAddr> {
        SocketAddr::try_from(self.to_any()?).ok()
    }

    /// The address as rustix's type, any family; `None` for a length shorter than the
    /// family field or longer than the storage.
    ///
    /// ```
    /// use hiver_sys::sockaddr::SockAddrBuf;
    /// let a: std::net::SocketAddr = "[::1]:80".parse().unwrap();
    /// let any = SockAddrBuf::from_std(&a).to_any().unwrap();
    /// assert_eq!(any.address_family(), rustix::net::AddressFamily::INET6);
    /// assert!(SockAddrBuf::none().to_any().is_none());
    /// ```
    pub fn to_any(&self) -> Option<SocketAddrAny> {
        if !(2..=CAPACITY).contains(&(self.len as usize)) {
            return None;
        }
        // `bytes` is sockaddr_storage-sized and aligned, and all of it is initialized.
        // SAFETY: `len` initialized bytes, within the bounds `SocketAddrAny::read` asserts.
        Some(unsafe { SocketAddrAny::read(self.bytes.as_ptr().cast(), self.len) })
    }

    /// The Unix-domain name this address holds; `None` for another family. A length of 0
    /// (a datagram from an unbound socket) is [`UnixName::Unnamed`]. See
    /// [`from_any`](Self::from_any) and [`UnixName`] for examples.
    ///
    /// Decoded here rather than through rustix's `SocketAddrUnix`, whose reader asserts
    /// that a path is NUL-terminated: the kernel reports a `sun_path` of full length
    /// without one.
    pub fn unix_name(&self) -> Option<UnixName<'_>> {
        if self.len == 0 {
            return Some(UnixName::Unnamed);
        }
        if self.to_any()?.address_family() != AddressFamily::UNIX {
            return None;
        }
        // `sun_path` starts after the family (and, on the BSDs, the length byte): offset 2
        // on every platform we build for.
        let path = &self.bytes[SUN_PATH_OFFSET..self.len as usize];
        Some(match path {
            [] => UnixName::Unnamed,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            [0, name @ ..] => UnixName::Abstract(name),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            [0, ..] => UnixName::Unnamed,
            _ => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                UnixName::Path(&path[..end])
            }
        })
    }

    /// Pointer to the address, for an SQE.
    pub fn as_ptr(&self) -> *const c_void {
        self.bytes.as_ptr().cast()
    }

    /// Mutable pointer to the address, for the kernel to fill.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        self.bytes.as_mut_ptr().cast()
    }

    /// The address's length.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the length is zero (nothing written).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pointer to the length, for the kernel to update (`accept`).
    pub fn len_mut_ptr(&mut self) -> *mut u32 {
        &mut self.len
    }

    /// Sets the length (after `recvmsg` reported it in the message header).
    pub fn set_len(&mut self, len: u32) {
        self.len = len;
    }
}

impl Default for SockAddrBuf {
    fn default() -> Self {
        SockAddrBuf::new()
    }
}

impl std::fmt::Debug for SockAddrBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SockAddrBuf")
            .field("len", &self.len)
            .field("addr", &self.to_std())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_v4_and_v6() {
        for s in ["127.0.0.1:1", "[::1]:65535", "[fe80::1%3]:80", "0.0.0.0:0"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(SockAddrBuf::from_std(&a).to_std(), Some(a), "{s}");
        }
    }

    #[test]
    fn bad_lengths_are_none_not_panics() {
        let mut b = SockAddrBuf::new();
        for len in [0, 1, 129, u32::MAX] {
            b.set_len(len);
            assert_eq!(b.to_std(), None);
        }
        b.set_len(16);
        assert_eq!(b.to_std(), None, "family 0 is not an IP address");
        assert_eq!(b.unix_name(), None, "family 0 is not a Unix address");
        b.set_len(1);
        assert_eq!(b.unix_name(), None, "shorter than the family");
    }

    fn unix(path: &str) -> SockAddrBuf {
        SockAddrBuf::from_any(&rustix::net::SocketAddrUnix::new(path).unwrap().into())
    }

    #[test]
    fn unix_names_decode() {
        assert_eq!(unix("/a/b").unix_name(), Some(UnixName::Path(b"/a/b")));
        assert_eq!(SockAddrBuf::none().unix_name(), Some(UnixName::Unnamed));
        let ip = SockAddrBuf::from_std(&"127.0.0.1:1".parse().unwrap());
        assert_eq!(ip.unix_name(), None);
        // A path filling `sun_path` has no NUL after it (the kernel reports such lengths).
        let long = "x".repeat(unix_path_capacity());
        assert_eq!(
            unix(&long).unix_name(),
            Some(UnixName::Path(long.as_bytes()))
        );
        // Bytes after the NUL (a length the kernel rounded up) are not part of the path.
        let mut b = unix("/p");
        b.set_len(b.len() + 4);
        assert_eq!(b.unix_name(), Some(UnixName::Path(b"/p")));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_and_unnamed_unix_names_decode() {
        let abs = rustix::net::SocketAddrUnix::new_abstract_name(b"hiver\0x").unwrap();
        let b = SockAddrBuf::from_any(&abs.into());
        assert_eq!(b.unix_name(), Some(UnixName::Abstract(b"hiver\0x")));
        let unnamed = rustix::net::SocketAddrUnix::new_unnamed();
        let b = SockAddrBuf::from_any(&unnamed.into());
        assert_eq!(b.unix_name(), Some(UnixName::Unnamed));
    }

    /// `sun_path`'s length on this platform.
    fn unix_path_capacity() -> usize {
        if cfg!(any(target_os = "linux", target_os = "android")) {
            108
        } else {
            104
        }
    }
}
