//! Debug builds: before an operation's SQE is pushed, every address it names must lie
//! inside the memory of that operation's payload, which the in-flight table keeps alive
//! until the final CQE (in the spirit of liburing's `src/sanitize.c`). A violation is a
//! bug of the runtime (an SQE naming a caller's buffer, a stack value, another operation's
//! memory): [`assert_sqe_in`] panics with the opcode, the field and the address.
//!
//! The memory of a payload ([`Regions`]) is its own bytes inside the cell plus the heap
//! buffers it owns (a `Vec`'s whole capacity, a `CString`'s bytes), listed by
//! [`UringPayload::regions`](super::ops::UringPayload::regions). Pointers found inside the
//! payload (a `msghdr`'s name and iovec, an iovec's base) are followed and checked too.
//!
//! # Safety
//!
//! The check reads memory only after it found it inside a region, and regions are memory
//! the payload owns and nobody else touches before submission.
#![allow(unsafe_code)]

use std::fmt;
use std::ops::Range;

use hiver_sys::uring::op::MsgHdr;
use hiver_sys::uring::{opcode, sqe_flags, KernelTimespec, Sqe, Statx};

/// The memory one payload owns: at most a few ranges of addresses.
#[derive(Clone, Debug, Default)]
pub(crate) struct Regions {
    r: [Range<usize>; 4],
    n: usize,
}

impl Regions {
    /// The bytes of `value` (the payload inside its cell).
    pub(crate) fn of<T>(value: *const T) -> Regions {
        let mut r = Regions::default();
        r.add(value.cast(), std::mem::size_of::<T>());
        r
    }

    /// Adds `len` bytes at `start` (nothing for an empty range).
    pub(crate) fn add(&mut self, start: *const u8, len: usize) {
        if len == 0 {
            return;
        }
        assert!(
            self.n < self.r.len(),
            "io_uring submit check: more than {} regions in one payload",
            self.r.len()
        );
        let start = start as usize;
        self.r[self.n] = start..start.saturating_add(len);
        self.n += 1;
    }

    /// Adds a vector's whole capacity (the kernel may write its spare part).
    pub(crate) fn add_vec(&mut self, v: &Vec<u8>) {
        self.add(v.as_ptr(), v.capacity());
    }

    /// The region holding all of `addr..addr + len`.
    fn find(&self, addr: usize, len: usize) -> Option<&Range<usize>> {
        let end = addr.checked_add(len)?;
        self.r[..self.n]
            .iter()
            .find(|r| r.start <= addr && end <= r.end)
    }
}

/// An SQE address outside its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outside {
    pub(crate) opcode: u8,
    pub(crate) what: &'static str,
    pub(crate) addr: usize,
    pub(crate) len: usize,
}

impl fmt::Display for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.what == "opcode" {
            return write!(
                f,
                "io_uring submit check: opcode {} is unknown to the check \
                 (teach src/driver/uring/sanitize.rs which of its fields are addresses)",
                self.opcode
            );
        }
        write!(
            f,
            "io_uring submit check: opcode {} names {} {:#x}..+{} outside the memory of its \
             operation (a runtime bug: the kernel could write there after it is freed)",
            self.opcode, self.what, self.addr, self.len
        )
    }
}

/// Checks that every address `sqe` names lies inside `regions`.
pub(crate) fn check_sqe_in(regions: &Regions, sqe: &Sqe) -> Result<(), Outside> {
    let op = sqe.opcode;
    let span = |what: &'static str, addr: u64, len: usize| -> Result<(), Outside> {
        if len == 0 || regions.find(addr as usize, len).is_some() {
            Ok(())
        } else {
            Err(Outside {
                opcode: op,
                what,
                addr: addr as usize,
                len,
            })
        }
    };
    // A NUL-terminated string that starts, and ends, inside one region.
    let cstr = |what: &'static str, addr: u64| -> Result<(), Outside> {
        let bad = Outside {
            opcode: op,
            what,
            addr: addr as usize,
            len: 1,
        };
        let r = regions.find(addr as usize, 1).ok_or(bad.clone())?;
        let room = r.end - addr as usize;
        // SAFETY: `addr..r.end` is inside a region the payload owns.
        let bytes = unsafe { std::slice::from_raw_parts(addr as usize as *const u8, room) };
        if bytes.contains(&0) {
            Ok(())
        } else {
            Err(bad)
        }
    };
    // `count` iovecs at `addr`, and the buffers they name.
    let iovecs = |addr: u64, count: usize| -> Result<(), Outside> {
        let size = std::mem::size_of::<[usize; 2]>();
        span("an iovec array", addr, count.saturating_mul(size))?;
        for i in 0..count {
            let entry = (addr as usize as *const [usize; 2]).wrapping_add(i);
            // SAFETY: the array is inside a region (checked above); read unaligned.
            let [base, len] = unsafe { std::ptr::read_unaligned(entry) };
            span("an iovec's buffer", base as u64, len)?;
        }
        Ok(())
    };
    let selected = sqe.flags & sqe_flags::BUFFER_SELECT != 0;
    match op {
        opcode::NOP
        | opcode::FSYNC
        | opcode::POLL_ADD
        | opcode::POLL_REMOVE
        | opcode::TIMEOUT_REMOVE
        | opcode::ASYNC_CANCEL
        | opcode::CLOSE
        | opcode::SHUTDOWN
        | opcode::MSG_RING
        | opcode::FTRUNCATE => Ok(()),
        opcode::READ | opcode::WRITE | opcode::RECV | opcode::SEND if selected => Ok(()),
        opcode::READ | opcode::WRITE | opcode::RECV | opcode::SEND => {
            span("its buffer", sqe.addr, sqe.len as usize)
        }
        opcode::SEND_ZC => {
            span("its buffer", sqe.addr, sqe.len as usize)?;
            let addr_len = (sqe.file_index >> 16) as usize;
            if sqe.off != 0 {
                span("the destination address", sqe.off, addr_len)?;
            }
            Ok(())
        }
        opcode::READV | opcode::WRITEV => iovecs(sqe.addr, sqe.len as usize),
        opcode::RECVMSG | opcode::SENDMSG => {
            span("the msghdr", sqe.addr, std::mem::size_of::<MsgHdr>())?;
            // SAFETY: the header is inside a region (checked above).
            let hdr = unsafe { std::ptr::read_unaligned(sqe.addr as usize as *const MsgHdr) };
            span(
                "the msghdr's address",
                hdr.name as u64,
                hdr.namelen as usize,
            )?;
            span(
                "the msghdr's control buffer",
                hdr.control as u64,
                hdr.controllen,
            )?;
            if selected {
                return Ok(());
            }
            iovecs(hdr.iov as u64, hdr.iovlen)
        }
        opcode::ACCEPT => {
            if sqe.off == 0 {
                return Ok(());
            }
            span("the address length", sqe.off, 4)?;
            // SAFETY: inside a region (checked above).
            let len = unsafe { std::ptr::read_unaligned(sqe.off as usize as *const u32) };
            span("the address buffer", sqe.addr, len as usize)
        }
        opcode::CONNECT => span("the address", sqe.addr, sqe.off as usize),
        opcode::TIMEOUT | opcode::LINK_TIMEOUT => span(
            "the timespec",
            sqe.addr,
            std::mem::size_of::<KernelTimespec>(),
        ),
        opcode::FILES_UPDATE => span(
            "the fd array",
            sqe.addr,
            (sqe.len as usize).saturating_mul(4),
        ),
        opcode::OPENAT | opcode::UNLINKAT | opcode::MKDIRAT => cstr("the path", sqe.addr),
        opcode::STATX => {
            cstr("the path", sqe.addr)?;
            span("the statx buffer", sqe.off, std::mem::size_of::<Statx>())
        }
        opcode::RENAMEAT => {
            cstr("the old path", sqe.addr)?;
            cstr("the new path", sqe.off)
        }
        _ => Err(Outside {
            opcode: op,
            what: "opcode",
            addr: 0,
            len: 0,
        }),
    }
}

/// [`check_sqe_in`], panicking on a violation (a runtime bug).
#[track_caller]
pub(crate) fn assert_sqe_in(regions: &Regions, sqe: &Sqe) {
    if let Err(e) = check_sqe_in(regions, sqe) {
        panic!("{e}; the payload's memory: {:?}", &regions.r[..regions.n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hiver_sys::sockaddr::SockAddrBuf;
    use hiver_sys::uring::op as sqe;

    fn regions_of(bufs: &[&[u8]]) -> Regions {
        let mut r = Regions::default();
        for b in bufs {
            r.add(b.as_ptr(), b.len());
        }
        r
    }

    #[test]
    fn a_buffer_inside_the_payload_passes() {
        let mut buf = vec![0u8; 64];
        let r = regions_of(&[&buf]);
        let ptr = buf.as_mut_ptr();
        assert_eq!(check_sqe_in(&r, &sqe::recv(3, ptr, 64, 0)), Ok(()));
        // SAFETY: 16 < 64.
        let mid = unsafe { ptr.add(16) };
        assert_eq!(check_sqe_in(&r, &sqe::recv(3, mid, 48, 0)), Ok(()));
        assert_eq!(check_sqe_in(&r, &sqe::send(3, mid, 0, 0)), Ok(()));
        assert_eq!(check_sqe_in(&r, &sqe::recv_provided(3, 1, 64, 0)), Ok(()));
        assert_eq!(check_sqe_in(&r, &sqe::async_cancel(77, 0)), Ok(()));
        assert_eq!(check_sqe_in(&r, &sqe::accept_multishot(3, 0)), Ok(()));
    }

    #[test]
    fn a_buffer_outside_or_overrunning_the_payload_is_caught() {
        let mut payload = vec![0u8; 64];
        let mut other = vec![0u8; 64];
        let r = regions_of(&[&payload]);
        // Another buffer (the caller's, say).
        let e = check_sqe_in(&r, &sqe::recv(3, other.as_mut_ptr(), 64, 0)).unwrap_err();
        assert_eq!(
            (e.opcode, e.what, e.addr),
            (opcode::RECV, "its buffer", other.as_ptr() as usize)
        );
        // One byte too long.
        let e = check_sqe_in(&r, &sqe::read(3, payload.as_mut_ptr(), 65, 0)).unwrap_err();
        assert_eq!(e.len, 65);
        // Starting inside, running past the end.
        // SAFETY: 63 < 64.
        let last = unsafe { payload.as_mut_ptr().add(63) };
        assert!(check_sqe_in(&r, &sqe::send(3, last, 2, 0)).is_err());
        // An address that wraps around.
        let wrap = Sqe {
            addr: u64::MAX - 1,
            len: 16,
            opcode: opcode::WRITE,
            ..Default::default()
        };
        assert!(check_sqe_in(&r, &wrap).is_err());
    }

    #[test]
    #[should_panic(expected = "outside the memory of its operation")]
    fn a_wrong_sqe_panics_with_a_clear_message() {
        let payload = [0u8; 32];
        let mut stack = [0u8; 32];
        assert_sqe_in(
            &regions_of(&[&payload]),
            &sqe::recv(3, stack.as_mut_ptr(), 32, 0),
        );
    }

    #[test]
    #[should_panic(expected = "unknown to the check")]
    fn an_unknown_opcode_panics() {
        let s = Sqe {
            opcode: 200,
            ..Default::default()
        };
        assert_sqe_in(&Regions::default(), &s);
    }

    #[repr(C)]
    struct MsgPayload {
        addr: SockAddrBuf,
        hdr: MsgHdr,
        iov: [usize; 2],
    }

    #[test]
    fn a_msghdr_is_followed_to_its_address_and_buffers() {
        let mut data = vec![0u8; 100];
        let mut p = Box::new(MsgPayload {
            addr: SockAddrBuf::new(),
            hdr: MsgHdr::default(),
            iov: [data.as_mut_ptr() as usize, 100],
        });
        p.hdr.name = p.addr.as_mut_ptr();
        p.hdr.namelen = p.addr.len();
        p.hdr.iov = (&raw mut p.iov).cast();
        p.hdr.iovlen = 1;
        let mut r = Regions::of(&*p);
        r.add_vec(&data);
        let s = sqe::recvmsg(3, &mut p.hdr, 0);
        assert_eq!(check_sqe_in(&r, &s), Ok(()));
        // The iovec names memory of nobody's: caught.
        let mut elsewhere = [0u8; 100];
        p.iov[0] = elsewhere.as_mut_ptr() as usize;
        let e = check_sqe_in(&r, &s).unwrap_err();
        assert_eq!(e.what, "an iovec's buffer");
        p.iov[0] = data.as_mut_ptr() as usize;
        // An address length beyond the storage: caught.
        p.hdr.namelen = 4096;
        assert_eq!(
            check_sqe_in(&r, &s).unwrap_err().what,
            "the msghdr's address"
        );
        p.hdr.namelen = p.addr.len();
        // The header itself elsewhere (a stack copy): caught.
        let mut copy = MsgHdr::default();
        let e = check_sqe_in(&r, &sqe::recvmsg(3, &mut copy, 0)).unwrap_err();
        assert_eq!(e.what, "the msghdr");
    }

    #[test]
    fn paths_must_be_nul_terminated_inside_the_payload() {
        let path = std::ffi::CString::new("some/file").unwrap();
        let to = std::ffi::CString::new("other").unwrap();
        let mut r = Regions::default();
        r.add(path.as_ptr().cast(), path.as_bytes_with_nul().len());
        use hiver_sys::uring::at_flags::FDCWD;
        assert_eq!(
            check_sqe_in(&r, &sqe::openat(FDCWD, path.as_ptr(), 0, 0)),
            Ok(())
        );
        // The terminating NUL left out of the region: caught.
        let mut short = Regions::default();
        short.add(path.as_ptr().cast(), path.as_bytes().len());
        assert!(check_sqe_in(&short, &sqe::unlinkat(FDCWD, path.as_ptr(), 0)).is_err());
        // A rename whose second path is not the payload's: caught; with it, fine.
        let s = sqe::renameat(FDCWD, path.as_ptr(), FDCWD, to.as_ptr(), 0);
        assert_eq!(check_sqe_in(&r, &s).unwrap_err().what, "the new path");
        r.add(to.as_ptr().cast(), to.as_bytes_with_nul().len());
        assert_eq!(check_sqe_in(&r, &s), Ok(()));
        // A statx buffer outside: caught.
        let mut st = Statx::default();
        let s = sqe::statx(FDCWD, path.as_ptr(), 0, 0, &mut st);
        assert_eq!(check_sqe_in(&r, &s).unwrap_err().what, "the statx buffer");
        r.add((&raw const st).cast(), std::mem::size_of::<Statx>());
        assert_eq!(check_sqe_in(&r, &s), Ok(()));
    }
}
