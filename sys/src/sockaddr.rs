//! Socket addresses in the kernel's encoding, in memory an io_uring operation can point at
//! (`connect`, `sendmsg` read one; `accept`, `recvmsg` write one), converted to and from
//! std's `SocketAddr` through rustix.
//!
//! # Safety
//!
//! `SockAddrBuf` is plain bytes of `sockaddr_storage` size and alignment plus a length; the
//! only unsafe code copies `len` bytes of it out, after checking `len` against the storage.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::net::SocketAddr;

use rustix::net::addr::SocketAddrStorage;
use rustix::net::SocketAddrAny;

const CAPACITY: usize = std::mem::size_of::<SocketAddrStorage>();

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

    /// The encoding of `addr`.
    pub fn from_std(addr: &SocketAddr) -> SockAddrBuf {
        let any = SocketAddrAny::from(*addr);
        let len = (any.addr_len() as usize).min(CAPACITY);
        let mut buf = SockAddrBuf::new();
        // SAFETY: `any` holds `addr_len()` initialized bytes at `as_ptr()`, and `len` is at
        // most that and at most our capacity.
        let src = unsafe { std::slice::from_raw_parts(any.as_ptr().cast::<u8>(), len) };
        buf.bytes[..len].copy_from_slice(src);
        buf.len = len as u32;
        buf
    }

    /// The address the kernel wrote (or `from_std` encoded); `None` for a length out of
    /// range or a family that is not IPv4/IPv6.
    pub fn to_std(&self) -> Option<SocketAddr> {
        let len = self.len as usize;
        if !(2..=CAPACITY).contains(&len) {
            return None;
        }
        // `bytes` is sockaddr_storage-sized and aligned, and all of it is initialized.
        // SAFETY: `len` initialized bytes, within the bounds `SocketAddrAny::read` asserts.
        let any = unsafe { SocketAddrAny::read(self.bytes.as_ptr().cast(), self.len) };
        SocketAddr::try_from(any).ok()
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
    }
}
