//! hiver-runtime: an io_uring-first, thread-per-core async runtime for web servers.
//!
//! Each worker thread owns its I/O driver (io_uring, epoll or kqueue), its run queue and a
//! lock-free inbox; tasks never migrate once started. The kernel layer is [`hiver_sys`],
//! written on raw syscalls (no libc on Linux).
//!
//! ```
//! use hiver_runtime::{spawn, Runtime};
//!
//! fn main() -> std::io::Result<()> {
//!     let mut runtime = Runtime::new()?;
//!     let answer = runtime.block_on(async { spawn(async { 6 * 7 }).wait().await })?;
//!     assert_eq!(answer.unwrap(), 42);
//!     Ok(())
//! }
//! ```
#![deny(unsafe_code)]

#[cfg(windows)]
compile_error!(
    "hiver-runtime does not support Windows yet: its IOCP driver is planned. \
     Supported: Linux (io_uring, epoll), macOS and the BSDs (kqueue)."
);

mod channel;
pub mod driver;
pub mod fs;
pub mod io;
mod loom;
mod net;
mod runtime;
mod sched;
pub mod select;
mod sync;
mod task;
pub mod time;

pub use channel::{
    bounded, unbounded, Receiver, RecvError, RecvFuture, SendError, SendFuture, Sender,
    TryRecvError, TrySendError,
};
pub use driver::{Capabilities, DriverType};
pub use runtime::{
    spawn, spawn_blocking, spawn_local, spawn_on, Builder, Runtime, RuntimeConfig, RuntimeMetrics,
    WorkerMetrics,
};
pub use select::{select_multiple, select_two};
pub use std::time::Duration;
pub use task::{yield_now, JoinError, JoinHandle};
pub use time::{interval, sleep, sleep_until, timeout, Elapsed, Instant, Interval, Sleep};

#[doc(inline)]
pub use hiver_sys as sys;

#[cfg(loom)]
#[doc(hidden)]
#[path = "loom_api.rs"]
pub mod __loom;
