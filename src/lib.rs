#![doc = include_str!("../docs/overview.md")]
#![deny(unsafe_code)]

#[cfg(windows)]
compile_error!(
    "hiver-runtime does not support Windows yet: its IOCP driver is planned. \
     Supported: Linux (io_uring, epoll), macOS and the BSDs (kqueue)."
);

mod bufs;
mod channel;
#[cfg(any(feature = "futures-io", feature = "tokio-io", feature = "hyper"))]
pub mod compat;
pub mod driver;
pub mod fs;
pub mod io;
mod loom;
mod net;
mod runtime;
mod sched;
pub mod select;
pub mod signal;
mod sync;
mod task;
pub mod time;

/// Guides beyond the API reference.
pub mod docs {
    /// Choosing a driver: io_uring, epoll or kqueue, the fallback, the ring's settings.
    #[doc = include_str!("../docs/choosing-a-driver.md")]
    pub mod choosing_a_driver {}

    /// Cancel safety: what each method does when its future is dropped.
    #[doc = include_str!("../docs/cancel-safety.md")]
    pub mod cancel_safety {}
}

pub use channel::{
    bounded, unbounded, Receiver, RecvError, RecvFuture, SendError, SendFuture, Sender,
    TryRecvError, TrySendError,
};
pub use driver::{Capabilities, DriverType};
pub use runtime::{
    shutdown_signal, spawn, spawn_blocking, spawn_local, spawn_on, Builder, Handle, Runtime,
    RuntimeConfig, RuntimeMetrics, ShutdownSignal, WorkerMetrics,
};
pub use select::{select_multiple, select_two};
pub use std::time::Duration;
pub use task::{yield_now, JoinError, JoinHandle};
pub use time::{interval, sleep, sleep_until, timeout, Elapsed, Instant, Interval, Sleep};

/// Runs `async fn main` on a runtime built from the attribute's arguments, the
/// [`Builder`]'s options: `worker_threads = N`, `driver = "auto" | "io_uring" | "epoll" |
/// "kqueue"`, `queue_size`, `io_entries`, `thread_name`, `enable_parking`,
/// `park_timeout_ms`, `max_blocking_threads`, `blocking_keep_alive_ms`; the
/// [`DriverConfig`](driver::DriverConfig)'s: `submit_wait = bool`, `defer_wakeup = bool`,
/// `max_ops_per_fd = N`, `cpu_affinity = core` (`io_entries` is its `entries`); and
/// `crate = "path"` when `hiver_runtime` was renamed. An unknown option or a value of the
/// wrong type is a compile error naming it.
///
/// ```
/// #[hiver_runtime::main(worker_threads = 2, blocking_keep_alive_ms = 500, max_ops_per_fd = 8)]
/// async fn main() -> std::io::Result<()> {
///     let listener = hiver_runtime::io::TcpListener::bind("127.0.0.1:0").await?;
///     println!("listening on {}", listener.local_addr()?);
///     Ok(())
/// }
/// ```
#[cfg(feature = "macros")]
pub use hiver_runtime_macros::main;

/// Runs an `async fn` test on its own runtime built from the attribute's arguments (the
/// same as [`main`]'s).
///
/// ```
/// #[hiver_runtime::test(worker_threads = 1, driver = "auto")]
/// async fn sleeps() {
///     hiver_runtime::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// # fn main() {}
/// ```
#[cfg(feature = "macros")]
pub use hiver_runtime_macros::test;

#[cfg(loom)]
#[doc(hidden)]
#[path = "loom_api.rs"]
pub mod __loom;

/// The fuzz targets' entry points (`cargo fuzz` builds with `--cfg fuzzing`).
#[cfg(all(fuzzing, target_os = "linux"))]
#[doc(hidden)]
pub mod __fuzz {
    /// The io_uring driver's completion handling against arbitrary CQEs
    /// (`driver/uring/fuzz.rs`).
    pub fn completions(data: &[u8]) {
        let _ = crate::driver::uring::fuzz::completions(data);
    }
}
