//! The structs and constants shared with the kernel, as hiver's own `#[repr(C)]` types.
//!
//! Every struct here has integer fields only: rustix types the opcode of an SQE and the ops
//! of a probe as an enum that stops short of what new kernels report, and reading such a
//! value back would be undefined behaviour. Sizes and field offsets are pinned with
//! `static_assertions` against `include/uapi/linux/io_uring.h`.

use static_assertions::{assert_eq_align, assert_eq_size, const_assert_eq};
use std::mem::{offset_of, size_of};

/// A submission queue entry (`struct io_uring_sqe`), 64 bytes.
///
/// Field names follow the kernel header; unions are flattened to the member hiver uses and
/// the others are noted in the field docs. Build one with the functions of
/// [`op`](super::op) rather than by hand.
///
/// ```
/// use hiver_sys::uring::{op, Sqe};
/// let sqe: Sqe = op::nop().user_data(7);
/// assert_eq!(sqe.user_data, 7);
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sqe {
    /// The operation (`IORING_OP_*`, see [`opcode`]).
    pub opcode: u8,
    /// `IOSQE_*` flags (see [`sqe_flags`]).
    pub flags: u8,
    /// `ioprio`, or the accept/recv/send flags of those opcodes.
    pub ioprio: u16,
    /// The file descriptor (or fixed-file index with `IOSQE_FIXED_FILE`).
    pub fd: i32,
    /// File offset, or `addr2` (accept's address-length pointer), or MSG_RING's user data.
    pub off: u64,
    /// Buffer address, or the target user data of a cancel.
    pub addr: u64,
    /// Buffer length, or iovec count, or poll-add flags.
    pub len: u32,
    /// The per-opcode flags word (`rw_flags`, `msg_flags`, `timeout_flags`, ...).
    pub op_flags: u32,
    /// Opaque value handed back in the completion.
    pub user_data: u64,
    /// Registered-buffer index, or provided-buffer group with `IOSQE_BUFFER_SELECT`.
    pub buf_index: u16,
    /// Registered credentials to use.
    pub personality: u16,
    /// `splice_fd_in`, or `file_index` for direct descriptors, or `addr_len`.
    pub file_index: u32,
    /// `addr3`.
    pub addr3: u64,
    /// Reserved; must be zero.
    pub pad: u64,
}

/// A completion queue entry (`struct io_uring_cqe`), 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cqe {
    /// The `user_data` of the SQE this completes.
    pub user_data: u64,
    /// The result: a non-negative value on success, `-errno` on failure.
    pub res: i32,
    /// `IORING_CQE_F_*` flags (see [`cqe_flags`]); the upper 16 bits carry a buffer id.
    pub flags: u32,
}

/// One entry of a provided-buffer ring (`struct io_uring_buf`), 16 bytes.
///
/// The ring's tail is the `u16` at byte 14 of the ring, which aliases entry 0's `resv`:
/// writers of entries must write `addr`, `len` and `bid` only.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufRingEntry {
    /// Address of the buffer.
    pub addr: u64,
    /// Length of the buffer.
    pub len: u32,
    /// Buffer id, reported back in the CQE flags.
    pub bid: u16,
    /// Reserved; in entry 0 this is the ring tail.
    pub resv: u16,
}

/// Byte offset of the tail word inside a provided-buffer ring.
pub const BUF_RING_TAIL_OFFSET: usize = 14;

/// The fixed header of `struct io_uring_probe`, 16 bytes; [`ProbeOp`]s follow it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ProbeHeader {
    /// The highest opcode the kernel knows.
    pub last_op: u8,
    /// How many [`ProbeOp`] entries the kernel filled in.
    pub ops_len: u8,
    /// Reserved.
    pub resv: u16,
    /// Reserved.
    pub resv2: [u32; 3],
}

/// One entry of a probe (`struct io_uring_probe_op`), 8 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ProbeOp {
    /// The opcode this entry describes.
    pub op: u8,
    /// Reserved.
    pub resv: u8,
    /// `IO_URING_OP_SUPPORTED` when the opcode is supported.
    pub flags: u16,
    /// Reserved.
    pub resv2: u32,
}

/// `struct __kernel_timespec`, as timeouts and `EXT_ARG` waits read it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelTimespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, below one second.
    pub tv_nsec: i64,
}

impl From<std::time::Duration> for KernelTimespec {
    fn from(d: std::time::Duration) -> Self {
        // A Duration's seconds can exceed i64; clamp rather than wrap to a negative time.
        let tv_sec = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        KernelTimespec {
            tv_sec,
            tv_nsec: i64::from(d.subsec_nanos()),
        }
    }
}

assert_eq_size!(Sqe, [u8; 64]);
assert_eq_align!(Sqe, u64);
const_assert_eq!(offset_of!(Sqe, opcode), 0);
const_assert_eq!(offset_of!(Sqe, flags), 1);
const_assert_eq!(offset_of!(Sqe, ioprio), 2);
const_assert_eq!(offset_of!(Sqe, fd), 4);
const_assert_eq!(offset_of!(Sqe, off), 8);
const_assert_eq!(offset_of!(Sqe, addr), 16);
const_assert_eq!(offset_of!(Sqe, len), 24);
const_assert_eq!(offset_of!(Sqe, op_flags), 28);
const_assert_eq!(offset_of!(Sqe, user_data), 32);
const_assert_eq!(offset_of!(Sqe, buf_index), 40);
const_assert_eq!(offset_of!(Sqe, personality), 42);
const_assert_eq!(offset_of!(Sqe, file_index), 44);
const_assert_eq!(offset_of!(Sqe, addr3), 48);
const_assert_eq!(offset_of!(Sqe, pad), 56);

assert_eq_size!(Cqe, [u8; 16]);
const_assert_eq!(offset_of!(Cqe, user_data), 0);
const_assert_eq!(offset_of!(Cqe, res), 8);
const_assert_eq!(offset_of!(Cqe, flags), 12);

assert_eq_size!(BufRingEntry, [u8; 16]);
const_assert_eq!(offset_of!(BufRingEntry, addr), 0);
const_assert_eq!(offset_of!(BufRingEntry, len), 8);
const_assert_eq!(offset_of!(BufRingEntry, bid), 12);
const_assert_eq!(offset_of!(BufRingEntry, resv), BUF_RING_TAIL_OFFSET);

assert_eq_size!(ProbeHeader, [u8; 16]);
const_assert_eq!(offset_of!(ProbeHeader, ops_len), 1);
assert_eq_size!(ProbeOp, [u8; 8]);
const_assert_eq!(offset_of!(ProbeOp, flags), 2);

assert_eq_size!(KernelTimespec, [u8; 16]);

// The rustix structs hiver passes to the kernel unchanged are pinned too, so that an
// upgrade of rustix that changed them would stop the build rather than the kernel.
const_assert_eq!(size_of::<rustix::io_uring::io_uring_params>(), 120);
const_assert_eq!(offset_of!(rustix::io_uring::io_uring_params, features), 20);
const_assert_eq!(offset_of!(rustix::io_uring::io_uring_params, sq_off), 40);
const_assert_eq!(offset_of!(rustix::io_uring::io_uring_params, cq_off), 80);
const_assert_eq!(size_of::<rustix::io_uring::io_uring_getevents_arg>(), 24);
const_assert_eq!(size_of::<rustix::io_uring::io_uring_buf_reg>(), 40);
const_assert_eq!(size_of::<rustix::io_uring::io_uring_rsrc_update>(), 16);

/// `IORING_OP_*`: the opcodes hiver prepares (see [`op`](super::op)).
pub mod opcode {
    #![allow(missing_docs)]
    pub const NOP: u8 = 0;
    pub const READV: u8 = 1;
    pub const WRITEV: u8 = 2;
    pub const FSYNC: u8 = 3;
    pub const POLL_ADD: u8 = 6;
    pub const POLL_REMOVE: u8 = 7;
    pub const SENDMSG: u8 = 9;
    pub const RECVMSG: u8 = 10;
    pub const TIMEOUT: u8 = 11;
    pub const TIMEOUT_REMOVE: u8 = 12;
    pub const ACCEPT: u8 = 13;
    pub const ASYNC_CANCEL: u8 = 14;
    pub const LINK_TIMEOUT: u8 = 15;
    pub const CONNECT: u8 = 16;
    pub const OPENAT: u8 = 18;
    pub const CLOSE: u8 = 19;
    pub const FILES_UPDATE: u8 = 20;
    pub const STATX: u8 = 21;
    pub const READ: u8 = 22;
    pub const WRITE: u8 = 23;
    pub const SEND: u8 = 26;
    pub const RECV: u8 = 27;
    pub const SHUTDOWN: u8 = 34;
    pub const RENAMEAT: u8 = 35;
    pub const UNLINKAT: u8 = 36;
    pub const MKDIRAT: u8 = 37;
    pub const MSG_RING: u8 = 40;
    pub const SEND_ZC: u8 = 47;
    /// Linux 6.9.
    pub const FTRUNCATE: u8 = 55;
}

/// `IOSQE_*`: flags of an SQE.
pub mod sqe_flags {
    /// `fd` is an index into the registered file table.
    pub const FIXED_FILE: u8 = 1 << 0;
    /// Start only after every earlier SQE has completed.
    pub const IO_DRAIN: u8 = 1 << 1;
    /// The next SQE starts only after this one succeeds.
    pub const IO_LINK: u8 = 1 << 2;
    /// Like `IO_LINK`, but the chain survives a failure.
    pub const IO_HARDLINK: u8 = 1 << 3;
    /// Always issue asynchronously.
    pub const ASYNC: u8 = 1 << 4;
    /// Pick a buffer from the provided-buffer group in `buf_index`.
    pub const BUFFER_SELECT: u8 = 1 << 5;
    /// Post no CQE when the operation succeeds.
    pub const CQE_SKIP_SUCCESS: u8 = 1 << 6;
}

/// `IORING_CQE_F_*`: flags of a CQE.
pub mod cqe_flags {
    /// The upper 16 bits hold the id of the provided buffer used.
    pub const BUFFER: u32 = 1 << 0;
    /// A multishot request will post more CQEs.
    pub const MORE: u32 = 1 << 1;
    /// More data is queued on the socket.
    pub const SOCK_NONEMPTY: u32 = 1 << 2;
    /// A zero-copy send's notification: the buffer may be reused.
    pub const NOTIF: u32 = 1 << 3;
    /// (Incremental buffer rings) the same buffer id will be used again.
    pub const BUF_MORE: u32 = 1 << 4;
    /// (Mixed CQE rings) a filler entry to skip.
    pub const SKIP: u32 = 1 << 5;
    /// (Mixed CQE rings) a 32-byte entry.
    pub const F_32: u32 = 1 << 15;
    /// Shift of the buffer id in the flags word.
    pub const BUFFER_SHIFT: u32 = 16;
}

/// `IORING_SETUP_*`: flags of `io_uring_setup`.
pub mod setup_flags {
    #![allow(missing_docs)]
    pub const IOPOLL: u32 = 1 << 0;
    pub const SQPOLL: u32 = 1 << 1;
    pub const SQ_AFF: u32 = 1 << 2;
    pub const CQSIZE: u32 = 1 << 3;
    pub const CLAMP: u32 = 1 << 4;
    pub const ATTACH_WQ: u32 = 1 << 5;
    pub const R_DISABLED: u32 = 1 << 6;
    pub const SUBMIT_ALL: u32 = 1 << 7;
    pub const COOP_TASKRUN: u32 = 1 << 8;
    pub const TASKRUN_FLAG: u32 = 1 << 9;
    pub const SQE128: u32 = 1 << 10;
    pub const CQE32: u32 = 1 << 11;
    pub const SINGLE_ISSUER: u32 = 1 << 12;
    pub const DEFER_TASKRUN: u32 = 1 << 13;
    pub const NO_MMAP: u32 = 1 << 14;
    pub const REGISTERED_FD_ONLY: u32 = 1 << 15;
    pub const NO_SQARRAY: u32 = 1 << 16;
}

/// `IORING_FEAT_*`: features the kernel reports at setup.
pub mod features {
    #![allow(missing_docs)]
    pub const SINGLE_MMAP: u32 = 1 << 0;
    pub const NODROP: u32 = 1 << 1;
    pub const SUBMIT_STABLE: u32 = 1 << 2;
    pub const RW_CUR_POS: u32 = 1 << 3;
    pub const CUR_PERSONALITY: u32 = 1 << 4;
    pub const FAST_POLL: u32 = 1 << 5;
    pub const POLL_32BITS: u32 = 1 << 6;
    pub const SQPOLL_NONFIXED: u32 = 1 << 7;
    pub const EXT_ARG: u32 = 1 << 8;
    pub const NATIVE_WORKERS: u32 = 1 << 9;
    pub const RSRC_TAGS: u32 = 1 << 10;
    pub const CQE_SKIP: u32 = 1 << 11;
    pub const LINKED_FILE: u32 = 1 << 12;
    pub const REG_REG_RING: u32 = 1 << 13;
    pub const RECVSEND_BUNDLE: u32 = 1 << 14;
    pub const MIN_TIMEOUT: u32 = 1 << 15;
}

/// `IORING_SQ_*`: flags the kernel sets in the SQ ring.
pub mod sq_ring_flags {
    /// The SQPOLL thread sleeps: enter with `SQ_WAKEUP`.
    pub const NEED_WAKEUP: u32 = 1 << 0;
    /// Completions wait in the kernel's overflow list: enter with `GETEVENTS` to flush.
    pub const CQ_OVERFLOW: u32 = 1 << 1;
    /// Task work is pending: enter with `GETEVENTS` to run it.
    pub const TASKRUN: u32 = 1 << 2;
}

/// `IORING_ENTER_*`: flags of `io_uring_enter`.
pub mod enter_flags {
    #![allow(missing_docs)]
    pub const GETEVENTS: u32 = 1 << 0;
    pub const SQ_WAKEUP: u32 = 1 << 1;
    pub const SQ_WAIT: u32 = 1 << 2;
    pub const EXT_ARG: u32 = 1 << 3;
    pub const REGISTERED_RING: u32 = 1 << 4;
}

/// Flags that go in `ioprio` for accept, recv and send.
pub mod ioprio_flags {
    /// `IORING_ACCEPT_MULTISHOT`.
    pub const ACCEPT_MULTISHOT: u16 = 1 << 0;
    /// `IORING_RECVSEND_POLL_FIRST`.
    pub const RECVSEND_POLL_FIRST: u16 = 1 << 0;
    /// `IORING_RECV_MULTISHOT`.
    pub const RECV_MULTISHOT: u16 = 1 << 1;
}

/// `IORING_TIMEOUT_*`.
pub mod timeout_flags {
    #![allow(missing_docs)]
    pub const ABS: u32 = 1 << 0;
    pub const UPDATE: u32 = 1 << 1;
    pub const BOOTTIME: u32 = 1 << 2;
    pub const REALTIME: u32 = 1 << 3;
    pub const ETIME_SUCCESS: u32 = 1 << 5;
    pub const MULTISHOT: u32 = 1 << 6;
}

/// `IORING_ASYNC_CANCEL_*`.
pub mod cancel_flags {
    #![allow(missing_docs)]
    pub const ALL: u32 = 1 << 0;
    pub const FD: u32 = 1 << 1;
    pub const ANY: u32 = 1 << 2;
    pub const FD_FIXED: u32 = 1 << 3;
}

/// `IORING_POLL_*` (in the `len` field of a poll-add).
pub mod poll_flags {
    /// `IORING_POLL_ADD_MULTI`: post a CQE per event until cancelled.
    pub const ADD_MULTI: u32 = 1 << 0;
}

/// `IORING_FSYNC_*` (in the flags word of an fsync).
pub mod fsync_flags {
    /// `IORING_FSYNC_DATASYNC`: `fdatasync` rather than `fsync`.
    pub const DATASYNC: u32 = 1 << 0;
}

/// `AT_*`: the directory fd and flags of the `*at` operations (openat, statx, unlinkat,
/// renameat, mkdirat).
pub mod at_flags {
    /// `AT_FDCWD`: resolve a relative path against the current directory.
    pub const FDCWD: i32 = -100;
    /// `AT_SYMLINK_NOFOLLOW`: statx describes a final symlink itself.
    pub const SYMLINK_NOFOLLOW: u32 = 0x100;
    /// `AT_REMOVEDIR`: unlinkat removes a directory (`rmdir`).
    pub const REMOVEDIR: u32 = 0x200;
    /// `AT_EMPTY_PATH`: with an empty path, statx describes the fd itself.
    pub const EMPTY_PATH: u32 = 0x1000;
}

/// `STATX_*`: the fields a statx asks for and reports in [`Statx::mask`].
pub mod statx_mask {
    #![allow(missing_docs)]
    pub const TYPE: u32 = 0x1;
    pub const MODE: u32 = 0x2;
    pub const NLINK: u32 = 0x4;
    pub const UID: u32 = 0x8;
    pub const GID: u32 = 0x10;
    pub const ATIME: u32 = 0x20;
    pub const MTIME: u32 = 0x40;
    pub const CTIME: u32 = 0x80;
    pub const INO: u32 = 0x100;
    pub const SIZE: u32 = 0x200;
    pub const BLOCKS: u32 = 0x400;
    /// Everything `stat` reports.
    pub const BASIC_STATS: u32 = 0x7ff;
    /// Creation time, where the file system keeps it.
    pub const BTIME: u32 = 0x800;
}

/// `struct statx_timestamp`, 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxTimestamp {
    /// Seconds since the epoch (negative before it).
    pub tv_sec: i64,
    /// Nanoseconds, below one second.
    pub tv_nsec: u32,
    /// Reserved.
    pub reserved: i32,
}

/// `struct statx`, 256 bytes, as `IORING_OP_STATX` fills it. Fields outside
/// [`mask`](Self::mask) are not set by the kernel.
///
/// ```
/// use hiver_sys::uring::{statx_mask, Statx};
/// let s = Statx::default();
/// assert_eq!(s.mask & statx_mask::SIZE, 0);
/// assert_eq!(std::mem::size_of::<Statx>(), 256);
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statx {
    /// Which fields were filled in (`STATX_*`, see [`statx_mask`]).
    pub mask: u32,
    /// Preferred I/O block size.
    pub blksize: u32,
    /// `STATX_ATTR_*` flags.
    pub attributes: u64,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// File type and permission bits (`st_mode`).
    pub mode: u16,
    /// Reserved.
    pub spare0: u16,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Which `attributes` bits the file system supports.
    pub attributes_mask: u64,
    /// Last access.
    pub atime: StatxTimestamp,
    /// Creation.
    pub btime: StatxTimestamp,
    /// Last status change.
    pub ctime: StatxTimestamp,
    /// Last modification.
    pub mtime: StatxTimestamp,
    /// Device number, for a device file (major).
    pub rdev_major: u32,
    /// Device number, for a device file (minor).
    pub rdev_minor: u32,
    /// Device holding the file (major).
    pub dev_major: u32,
    /// Device holding the file (minor).
    pub dev_minor: u32,
    /// Mount id.
    pub mnt_id: u64,
    /// Direct I/O memory alignment.
    pub dio_mem_align: u32,
    /// Direct I/O offset alignment.
    pub dio_offset_align: u32,
    /// Fields of newer kernels, and reserved space.
    pub spare: [u64; 12],
}

assert_eq_size!(StatxTimestamp, [u8; 16]);
const_assert_eq!(offset_of!(StatxTimestamp, tv_nsec), 8);
assert_eq_size!(Statx, [u8; 256]);
const_assert_eq!(offset_of!(Statx, mode), 28);
const_assert_eq!(offset_of!(Statx, ino), 32);
const_assert_eq!(offset_of!(Statx, size), 40);
const_assert_eq!(offset_of!(Statx, atime), 64);
const_assert_eq!(offset_of!(Statx, btime), 80);
const_assert_eq!(offset_of!(Statx, ctime), 96);
const_assert_eq!(offset_of!(Statx, mtime), 112);
const_assert_eq!(offset_of!(Statx, rdev_major), 128);
const_assert_eq!(offset_of!(Statx, mnt_id), 144);
const_assert_eq!(offset_of!(Statx, spare), 160);

/// `IO_URING_OP_SUPPORTED` in a [`ProbeOp`]'s flags.
pub const OP_SUPPORTED: u16 = 1;

/// `IORING_MSG_DATA`: the MSG_RING command that posts a CQE on the target ring.
pub const MSG_DATA: u64 = 0;

/// `IORING_FILE_INDEX_ALLOC`: let the kernel pick a free registered-file slot.
pub const FILE_INDEX_ALLOC: u32 = u32::MAX;

/// The most bytes Linux moves in one read or write (`MAX_RW_COUNT`).
pub const MAX_RW_COUNT: usize = 0x7fff_f000;
