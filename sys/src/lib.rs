//! Raw kernel interfaces for `hiver-runtime`: nothing async lives here.
//!
//! - [`uring`] (Linux): an io_uring instance set up with `io_uring_setup`, its three shared
//!   regions mapped by hand with `mmap`, submission and completion queues with liburing's
//!   memory ordering, typed SQE preparation, opcode probing, provided-buffer rings and
//!   registered files. The queue logic also runs over plain memory, which is what the fuzz
//!   targets and miri drive.
//! - `epoll` (Linux) and `kqueue` (macOS, FreeBSD and the other BSDs): thin readiness
//!   shims with the same function names, each with a waker (eventfd or `EVFILT_USER`).
//! - [`sockaddr`]: socket addresses in the kernel's encoding, for operations that point at
//!   one.
//! - [`signal`]: caught Unix signals, delivered to one waiting thread (a raw `rt_sigaction`
//!   handler and a self-pipe on Linux, `EVFILT_SIGNAL` on kqueue).
//!
//! Every syscall goes through [`rustix`] with its `linux_raw` backend: no libc on Linux.
//!
//! # Safety
//!
//! `unsafe` is confined to the modules that talk to shared memory or make raw calls; each
//! such module states the invariants it relies on in its own `# Safety` section, and every
//! `unsafe` block names the invariant it uses in a `// SAFETY:` comment.
#![deny(unsafe_code)]

#[cfg(target_os = "linux")]
pub mod epoll;
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
pub mod kqueue;
#[cfg(any(
    target_os = "linux",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
pub mod signal;
pub mod sockaddr;
#[cfg(target_os = "linux")]
pub mod uring;
