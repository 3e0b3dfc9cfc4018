//! hiver-runtime: an io_uring-first, thread-per-core async runtime for web servers.
//!
//! This crate is being built issue by issue: the kernel layer ([`hiver_sys`]: io_uring
//! mapped by hand, epoll and kqueue shims) is in place; the scheduler, timers, channels and
//! network types of the user guide land on top of it. Until then this crate re-exports
//! the kernel layer for the examples and benchmarks.
//!
//! ```
//! // The kernel layer is reachable through the runtime crate.
//! let rounded = hiver_runtime::sys::uring::round_entries(100).unwrap();
//! assert_eq!(rounded, 128);
//! ```
#![forbid(unsafe_code)]

#[cfg(windows)]
compile_error!(
    "hiver-runtime does not support Windows yet: its IOCP driver is planned. \
     Supported: Linux (io_uring, epoll), macOS and the BSDs (kqueue)."
);

#[doc(inline)]
pub use hiver_sys as sys;
