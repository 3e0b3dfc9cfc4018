//! Typed preparation of the SQEs the runtime issues: one function per operation.
//!
//! Each function only fills in an [`Sqe`]; none dereferences the pointers it is given.
//! What makes an SQE safe to submit is the contract of
//! [`SubmissionQueue::push`](super::SubmissionQueue::push): every pointer in it must stay
//! valid, and every buffer unaliased, until the operation's final completion. Lengths are
//! clamped to Linux's `MAX_RW_COUNT` (0x7ffff000), so a transfer larger than that is a short
//! count, never a wrapped `u32`.
//!
//! Sends always carry `MSG_NOSIGNAL`: a peer that has gone yields `EPIPE`, never `SIGPIPE`.
//!
//! ```
//! use hiver_sys::uring::{op, sqe_flags};
//! let sqe = op::recv(3, std::ptr::null_mut(), 0, 0).user_data(1).link();
//! assert_eq!(sqe.flags & sqe_flags::IO_LINK, sqe_flags::IO_LINK);
//! ```

use std::ffi::{c_char, c_void};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::RawFd;

use super::layout::{
    cancel_flags, ioprio_flags, opcode, poll_flags, sqe_flags, KernelTimespec, Sqe, Statx,
    MAX_RW_COUNT, MSG_DATA,
};

/// `struct msghdr` as `sendmsg`/`recvmsg` read it (Linux, 64-bit and 32-bit alike).
#[repr(C)]
#[derive(Debug)]
pub struct MsgHdr {
    /// Socket address buffer, or null.
    pub name: *mut c_void,
    /// Its length (in: capacity; out, for `recvmsg`: the address's length).
    pub namelen: u32,
    /// The data buffers.
    pub iov: *mut IoSliceMut<'static>,
    /// How many buffers.
    pub iovlen: usize,
    /// Ancillary data buffer, or null.
    pub control: *mut c_void,
    /// Its length.
    pub controllen: usize,
    /// Flags (out, for `recvmsg`: `MSG_TRUNC` and friends).
    pub flags: i32,
}

impl Default for MsgHdr {
    fn default() -> Self {
        MsgHdr {
            name: std::ptr::null_mut(),
            namelen: 0,
            iov: std::ptr::null_mut(),
            iovlen: 0,
            control: std::ptr::null_mut(),
            controllen: 0,
            flags: 0,
        }
    }
}

#[cfg(target_pointer_width = "64")]
static_assertions::const_assert_eq!(std::mem::size_of::<MsgHdr>(), 56);
static_assertions::const_assert_eq!(
    std::mem::offset_of!(MsgHdr, iov),
    std::mem::size_of::<usize>() * 2
);

fn clamp_len(len: usize) -> u32 {
    len.min(MAX_RW_COUNT) as u32
}

fn with_fd(op: u8, fd: RawFd) -> Sqe {
    Sqe {
        opcode: op,
        fd,
        ..Sqe::default()
    }
}

impl Sqe {
    /// Sets the value handed back in the completion.
    #[must_use]
    pub fn user_data(mut self, v: u64) -> Sqe {
        self.user_data = v;
        self
    }

    /// Adds `IOSQE_*` flags.
    #[must_use]
    pub fn flags(mut self, f: u8) -> Sqe {
        self.flags |= f;
        self
    }

    /// Links the next SQE to this one (`IOSQE_IO_LINK`): it starts only if this succeeds.
    #[must_use]
    pub fn link(self) -> Sqe {
        self.flags(sqe_flags::IO_LINK)
    }

    /// Posts no CQE on success (`IOSQE_CQE_SKIP_SUCCESS`). Not inside link chains on
    /// `DEFER_TASKRUN` rings before Linux 6.12 (liburing#1235).
    #[must_use]
    pub fn skip_success(self) -> Sqe {
        self.flags(sqe_flags::CQE_SKIP_SUCCESS)
    }

    /// Treats `fd` as an index into the registered file table (`IOSQE_FIXED_FILE`).
    #[must_use]
    pub fn fixed_file(self) -> Sqe {
        self.flags(sqe_flags::FIXED_FILE)
    }

    /// Lets the kernel pick the buffer from provided-buffer group `group`
    /// (`IOSQE_BUFFER_SELECT`); the CQE names the buffer it used.
    #[must_use]
    pub fn buffer_select(mut self, group: u16) -> Sqe {
        self.buf_index = group;
        self.flags(sqe_flags::BUFFER_SELECT)
    }
}

/// `IORING_OP_NOP`: completes with `res = 0`.
pub fn nop() -> Sqe {
    Sqe::default()
}

/// `IORING_OP_READ` of up to `len` bytes into `buf` at `offset` (`u64::MAX`: the file
/// position, for pipes and sockets).
pub fn read(fd: RawFd, buf: *mut u8, len: usize, offset: u64) -> Sqe {
    Sqe {
        addr: buf as u64,
        len: clamp_len(len),
        off: offset,
        ..with_fd(opcode::READ, fd)
    }
}

/// `IORING_OP_WRITE` of up to `len` bytes from `buf` at `offset` (`u64::MAX`: the file
/// position). For sockets prefer [`send`], which never raises `SIGPIPE`.
pub fn write(fd: RawFd, buf: *const u8, len: usize, offset: u64) -> Sqe {
    Sqe {
        addr: buf as u64,
        len: clamp_len(len),
        off: offset,
        ..with_fd(opcode::WRITE, fd)
    }
}

/// `IORING_OP_READV` into the `count` buffers at `iov`.
pub fn readv(fd: RawFd, iov: *const IoSliceMut<'_>, count: u32, offset: u64) -> Sqe {
    Sqe {
        addr: iov as u64,
        len: count,
        off: offset,
        ..with_fd(opcode::READV, fd)
    }
}

/// `IORING_OP_WRITEV` from the `count` buffers at `iov`.
pub fn writev(fd: RawFd, iov: *const IoSlice<'_>, count: u32, offset: u64) -> Sqe {
    Sqe {
        addr: iov as u64,
        len: count,
        off: offset,
        ..with_fd(opcode::WRITEV, fd)
    }
}

/// `IORING_OP_RECV` of up to `len` bytes into `buf`, with `MSG_*` `flags`.
pub fn recv(fd: RawFd, buf: *mut u8, len: usize, flags: u32) -> Sqe {
    Sqe {
        addr: buf as u64,
        len: clamp_len(len),
        op_flags: flags,
        ..with_fd(opcode::RECV, fd)
    }
}

/// `IORING_OP_RECV` into a buffer the kernel picks from group `group` (at most `max_len`
/// bytes of it; 0 = the whole buffer).
pub fn recv_provided(fd: RawFd, group: u16, max_len: u32, flags: u32) -> Sqe {
    Sqe {
        len: max_len,
        op_flags: flags,
        ..with_fd(opcode::RECV, fd)
    }
    .buffer_select(group)
}

/// Multishot `IORING_OP_RECV` (Linux 6.0): one CQE with `MORE` per arrival, each in a buffer
/// of group `group`, until an error, EOF or an empty buffer group ends it (a CQE without
/// `MORE`); then re-arm.
pub fn recv_multishot(fd: RawFd, group: u16, flags: u32) -> Sqe {
    Sqe {
        ioprio: ioprio_flags::RECV_MULTISHOT,
        ..recv_provided(fd, group, 0, flags)
    }
}

/// `IORING_OP_SEND` of up to `len` bytes from `buf`; `MSG_NOSIGNAL` is always added.
pub fn send(fd: RawFd, buf: *const u8, len: usize, flags: u32) -> Sqe {
    Sqe {
        addr: buf as u64,
        len: clamp_len(len),
        op_flags: flags | rustix::net::SendFlags::NOSIGNAL.bits(),
        ..with_fd(opcode::SEND, fd)
    }
}

/// `IORING_OP_RECVMSG` into the buffers and address described by `msg`.
pub fn recvmsg(fd: RawFd, msg: *mut MsgHdr, flags: u32) -> Sqe {
    Sqe {
        addr: msg as u64,
        len: 1,
        op_flags: flags,
        ..with_fd(opcode::RECVMSG, fd)
    }
}

/// `IORING_OP_SENDMSG` of the buffers (to the address) described by `msg`; `MSG_NOSIGNAL`
/// is always added.
pub fn sendmsg(fd: RawFd, msg: *const MsgHdr, flags: u32) -> Sqe {
    Sqe {
        addr: msg as u64,
        len: 1,
        op_flags: flags | rustix::net::SendFlags::NOSIGNAL.bits(),
        ..with_fd(opcode::SENDMSG, fd)
    }
}

/// `IORING_OP_ACCEPT`: the new socket's fd is the result (`SOCK_CLOEXEC` always added).
/// `addr`/`addrlen` receive the peer's address, or may both be null.
pub fn accept(fd: RawFd, addr: *mut c_void, addrlen: *mut u32, flags: u32) -> Sqe {
    Sqe {
        addr: addr as u64,
        off: addrlen as u64,
        op_flags: flags | rustix::net::SocketFlags::CLOEXEC.bits(),
        ..with_fd(opcode::ACCEPT, fd)
    }
}

/// Multishot `IORING_OP_ACCEPT` (Linux 5.19): one CQE with `MORE` per connection until
/// cancelled or an error ends it. No address is returned (it would be shared by all CQEs).
pub fn accept_multishot(fd: RawFd, flags: u32) -> Sqe {
    Sqe {
        ioprio: ioprio_flags::ACCEPT_MULTISHOT,
        ..accept(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags)
    }
}

/// `IORING_OP_CONNECT` to the `addrlen`-byte socket address at `addr`.
pub fn connect(fd: RawFd, addr: *const c_void, addrlen: u32) -> Sqe {
    Sqe {
        addr: addr as u64,
        off: u64::from(addrlen),
        ..with_fd(opcode::CONNECT, fd)
    }
}

/// `IORING_OP_CLOSE` of `fd`.
pub fn close(fd: RawFd) -> Sqe {
    with_fd(opcode::CLOSE, fd)
}

/// `IORING_OP_CLOSE` of registered-file slot `index`.
pub fn close_fixed(index: u32) -> Sqe {
    Sqe {
        file_index: index + 1,
        ..with_fd(opcode::CLOSE, 0)
    }
}

/// `IORING_OP_SHUTDOWN` of `fd` (`how`: `SHUT_RD` 0, `SHUT_WR` 1, `SHUT_RDWR` 2).
pub fn shutdown(fd: RawFd, how: i32) -> Sqe {
    Sqe {
        len: how as u32,
        ..with_fd(opcode::SHUTDOWN, fd)
    }
}

/// `IORING_OP_TIMEOUT`: completes with `-ETIME` after `*ts`, or with 0 once `count`
/// other completions were posted (0: time only). `flags`: `IORING_TIMEOUT_*`.
pub fn timeout(ts: *const KernelTimespec, count: u32, flags: u32) -> Sqe {
    Sqe {
        addr: ts as u64,
        len: 1,
        off: u64::from(count),
        op_flags: flags,
        ..with_fd(opcode::TIMEOUT, -1)
    }
}

/// `IORING_OP_TIMEOUT_REMOVE` of the timeout submitted with `user_data`.
pub fn timeout_remove(user_data: u64) -> Sqe {
    Sqe {
        addr: user_data,
        ..with_fd(opcode::TIMEOUT_REMOVE, -1)
    }
}

/// `IORING_OP_LINK_TIMEOUT`: placed right after an SQE marked [`Sqe::link`], cancels it
/// (`-ECANCELED`) if it has not completed after `*ts`.
pub fn link_timeout(ts: *const KernelTimespec, flags: u32) -> Sqe {
    Sqe {
        addr: ts as u64,
        len: 1,
        op_flags: flags,
        ..with_fd(opcode::LINK_TIMEOUT, -1)
    }
}

/// `IORING_OP_ASYNC_CANCEL` of the operation submitted with `target` user data. The
/// cancel completes with 0, `-ENOENT` (not found) or `-EALREADY` (running).
pub fn async_cancel(target: u64, flags: u32) -> Sqe {
    Sqe {
        addr: target,
        op_flags: flags,
        ..with_fd(opcode::ASYNC_CANCEL, -1)
    }
}

/// `IORING_OP_ASYNC_CANCEL` of every operation on `fd` (`IORING_ASYNC_CANCEL_FD|ALL`,
/// Linux 5.19): the result is how many were cancelled.
pub fn async_cancel_fd(fd: RawFd) -> Sqe {
    Sqe {
        op_flags: cancel_flags::FD | cancel_flags::ALL,
        ..with_fd(opcode::ASYNC_CANCEL, fd)
    }
}

/// `IORING_OP_POLL_ADD` for `events` (`POLLIN` 1, `POLLOUT` 4, ...): one CQE when ready.
pub fn poll_add(fd: RawFd, events: u32) -> Sqe {
    Sqe {
        op_flags: events,
        ..with_fd(opcode::POLL_ADD, fd)
    }
}

/// Multishot `IORING_OP_POLL_ADD` (Linux 5.13): a CQE with `MORE` per readiness edge.
pub fn poll_add_multi(fd: RawFd, events: u32) -> Sqe {
    Sqe {
        len: poll_flags::ADD_MULTI,
        ..poll_add(fd, events)
    }
}

/// `IORING_OP_POLL_REMOVE` of the poll submitted with `target` user data.
pub fn poll_remove(target: u64) -> Sqe {
    Sqe {
        addr: target,
        ..with_fd(opcode::POLL_REMOVE, -1)
    }
}

/// `IORING_OP_MSG_RING`: posts a CQE `(user_data, res)` on the ring `target_ring_fd`
/// (Linux 5.18). The sender's own CQE can be dropped with [`Sqe::skip_success`].
pub fn msg_ring(target_ring_fd: RawFd, res: u32, user_data: u64) -> Sqe {
    Sqe {
        addr: MSG_DATA,
        len: res,
        off: user_data,
        ..with_fd(opcode::MSG_RING, target_ring_fd)
    }
}

/// `IORING_OP_FILES_UPDATE`: stores the `count` fds at `fds` into registered-file slots
/// from `offset` on (-1 clears a slot).
pub fn files_update(fds: *const RawFd, count: u32, offset: u32) -> Sqe {
    Sqe {
        addr: fds as u64,
        len: count,
        off: u64::from(offset),
        ..with_fd(opcode::FILES_UPDATE, -1)
    }
}

/// `IORING_OP_OPENAT`: opens the NUL-terminated `path` (relative to the directory `dfd`, or
/// [`at_flags::FDCWD`](super::at_flags::FDCWD)) with `O_*` `flags` and `mode`; the new fd
/// is the result. The kernel copies the path when it prepares the operation.
pub fn openat(dfd: RawFd, path: *const c_char, flags: u32, mode: u32) -> Sqe {
    Sqe {
        addr: path as u64,
        len: mode,
        op_flags: flags,
        ..with_fd(opcode::OPENAT, dfd)
    }
}

/// `IORING_OP_FSYNC` of the whole file; `flags`
/// [`fsync_flags::DATASYNC`](super::fsync_flags::DATASYNC) makes it an `fdatasync`.
pub fn fsync(fd: RawFd, flags: u32) -> Sqe {
    Sqe {
        op_flags: flags,
        ..with_fd(opcode::FSYNC, fd)
    }
}

/// `IORING_OP_STATX` of `path` relative to `dfd` (an empty path with
/// [`at_flags::EMPTY_PATH`](super::at_flags::EMPTY_PATH): the fd itself), asking for the
/// `STATX_*` fields of `mask`; the kernel writes `*buf` before the completion.
pub fn statx(dfd: RawFd, path: *const c_char, flags: u32, mask: u32, buf: *mut Statx) -> Sqe {
    Sqe {
        addr: path as u64,
        len: mask,
        off: buf as u64,
        op_flags: flags,
        ..with_fd(opcode::STATX, dfd)
    }
}

/// `IORING_OP_UNLINKAT` of `path` relative to `dfd`; `flags`
/// [`at_flags::REMOVEDIR`](super::at_flags::REMOVEDIR) removes a directory.
pub fn unlinkat(dfd: RawFd, path: *const c_char, flags: u32) -> Sqe {
    Sqe {
        addr: path as u64,
        op_flags: flags,
        ..with_fd(opcode::UNLINKAT, dfd)
    }
}

/// `IORING_OP_RENAMEAT` of `old` (relative to `old_dfd`) to `new` (relative to `new_dfd`),
/// with `RENAME_*` `flags`.
pub fn renameat(
    old_dfd: RawFd,
    old: *const c_char,
    new_dfd: RawFd,
    new: *const c_char,
    flags: u32,
) -> Sqe {
    Sqe {
        addr: old as u64,
        len: new_dfd as u32,
        off: new as u64,
        op_flags: flags,
        ..with_fd(opcode::RENAMEAT, old_dfd)
    }
}

/// `IORING_OP_MKDIRAT` of `path` relative to `dfd`, with permission bits `mode`.
pub fn mkdirat(dfd: RawFd, path: *const c_char, mode: u32) -> Sqe {
    Sqe {
        addr: path as u64,
        len: mode,
        ..with_fd(opcode::MKDIRAT, dfd)
    }
}

/// `IORING_OP_FTRUNCATE` of `fd` to `len` bytes (Linux 6.9: probe for it).
pub fn ftruncate(fd: RawFd, len: u64) -> Sqe {
    Sqe {
        off: len,
        ..with_fd(opcode::FTRUNCATE, fd)
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::{at_flags, fsync_flags};
    use super::*;

    #[test]
    fn lengths_are_clamped_not_wrapped() {
        let five_gib = 5usize << 30;
        for sqe in [
            read(0, std::ptr::null_mut(), five_gib, 0),
            write(0, std::ptr::null(), five_gib, 0),
            recv(0, std::ptr::null_mut(), five_gib, 0),
            send(0, std::ptr::null(), five_gib, 0),
        ] {
            assert_eq!(sqe.len as usize, MAX_RW_COUNT);
        }
        assert_eq!(read(0, std::ptr::null_mut(), 10, 0).len, 10);
    }

    #[test]
    fn fields_land_where_the_kernel_reads_them() {
        let s = send(5, std::ptr::without_provenance(0x1000), 64, 0).user_data(9);
        assert_eq!(
            (s.opcode, s.fd, s.addr, s.len, s.user_data),
            (opcode::SEND, 5, 0x1000, 64, 9)
        );
        assert_ne!(s.op_flags & rustix::net::SendFlags::NOSIGNAL.bits(), 0);
        let a = accept_multishot(3, 0);
        assert_eq!(a.ioprio, ioprio_flags::ACCEPT_MULTISHOT);
        assert_ne!(a.op_flags & rustix::net::SocketFlags::CLOEXEC.bits(), 0);
        let m = msg_ring(7, 42, 0xfeed);
        assert_eq!((m.fd, m.len, m.off, m.addr), (7, 42, 0xfeed, MSG_DATA));
        let r = recv_multishot(4, 3, 0);
        assert_eq!(
            (r.buf_index, r.flags, r.ioprio),
            (3, sqe_flags::BUFFER_SELECT, ioprio_flags::RECV_MULTISHOT)
        );
        assert_eq!(close_fixed(0).file_index, 1);
        let c = async_cancel_fd(9);
        assert_eq!(
            (c.fd, c.op_flags),
            (9, cancel_flags::FD | cancel_flags::ALL)
        );
        assert_eq!(poll_add_multi(1, 1).len, poll_flags::ADD_MULTI);
        let path = c"f".as_ptr();
        let o = openat(at_flags::FDCWD, path, 0o1101, 0o644);
        assert_eq!(
            (o.opcode, o.fd, o.addr, o.len, o.op_flags),
            (opcode::OPENAT, at_flags::FDCWD, path as u64, 0o644, 0o1101)
        );
        let mut buf = Statx::default();
        let st = statx(4, path, at_flags::EMPTY_PATH, 0x7ff, &mut buf);
        assert_eq!(
            (st.addr, st.off, st.len, st.op_flags),
            (
                path as u64,
                &raw mut buf as u64,
                0x7ff,
                at_flags::EMPTY_PATH
            )
        );
        let r = renameat(1, path, 2, path, 0);
        assert_eq!((r.fd, r.len, r.off), (1, 2, path as u64));
        assert_eq!(fsync(3, fsync_flags::DATASYNC).op_flags, 1);
        assert_eq!((ftruncate(3, 99).opcode, ftruncate(3, 99).off), (55, 99));
        assert_eq!(unlinkat(-100, path, at_flags::REMOVEDIR).op_flags, 0x200);
        assert_eq!(mkdirat(-100, path, 0o755).len, 0o755);
        assert_eq!(
            nop().link().skip_success().flags,
            sqe_flags::IO_LINK | sqe_flags::CQE_SKIP_SUCCESS
        );
    }
}
