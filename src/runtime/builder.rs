//! `Builder` and `RuntimeConfig`: every option of the guide, checked at `build()`.

use std::io;
use std::time::Duration;

use super::Runtime;
use crate::driver::{DriverConfig, DriverType};

/// Everything a runtime is built from. `Default` gives the builder's defaults; its public
/// fields are the guide's (`driver_type`, `driver_io`), and
/// [`Builder::config`] takes a whole one.
///
/// ```
/// use hiver_runtime::{DriverType, Runtime, RuntimeConfig};
/// let mut config = RuntimeConfig::default();
/// config.driver_type = DriverType::Epoll;
/// let rt = Runtime::builder().worker_threads(1).config(config).build().unwrap();
/// assert_eq!(rt.driver_type(), DriverType::Epoll);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Which I/O driver to use.
    pub driver_type: DriverType,
    /// The driver's settings.
    pub driver_io: DriverConfig,
    /// Worker threads (`None`: the available parallelism).
    pub worker_threads: Option<usize>,
    /// Capacity of each worker's local run queue before it overflows.
    pub queue_size: usize,
    /// Worker thread name prefix: threads are named `<prefix>-<index>`.
    pub thread_name: String,
    /// Whether idle workers sleep in their driver (else they spin).
    pub enable_parking: bool,
    /// Upper bound on one park (`None`: until an event or a timer).
    pub park_timeout: Option<Duration>,
    /// Most threads of the blocking pool ([`spawn_blocking`](crate::spawn_blocking));
    /// more jobs than that wait in its queue.
    pub max_blocking_threads: usize,
    /// How long an idle blocking-pool thread waits for a job before it exits.
    pub blocking_keep_alive: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            driver_type: DriverType::Auto,
            driver_io: DriverConfig::default(),
            worker_threads: None,
            queue_size: 256,
            thread_name: "hiver-worker".to_string(),
            enable_parking: true,
            park_timeout: None,
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
        }
    }
}

/// The most SQ entries io_uring accepts (`IORING_MAX_ENTRIES`); more is an error at
/// `build()` on every driver, so that a configuration means the same everywhere.
const MAX_IO_ENTRIES: u32 = 32768;
#[cfg(target_os = "linux")]
const _: () = assert!(MAX_IO_ENTRIES == hiver_sys::uring::MAX_ENTRIES);

impl RuntimeConfig {
    pub(crate) fn workers(&self) -> usize {
        self.worker_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    fn validate(&self) -> io::Result<()> {
        let bad = |m: String| Err(io::Error::new(io::ErrorKind::InvalidInput, m));
        if self.worker_threads == Some(0) {
            return bad("worker_threads must be at least 1, got 0".into());
        }
        if self.queue_size == 0 {
            return bad("queue_size must be at least 1, got 0".into());
        }
        if self.driver_io.entries == 0 {
            return bad("io_entries (driver entries) must be at least 1, got 0".into());
        }
        if self.driver_io.entries > MAX_IO_ENTRIES {
            return bad(format!(
                "io_entries (driver entries) must be at most {MAX_IO_ENTRIES} \
                 (the kernel's IORING_MAX_ENTRIES), got {}",
                self.driver_io.entries
            ));
        }
        if self.max_blocking_threads == 0 {
            return bad("max_blocking_threads must be at least 1, got 0".into());
        }
        if self.thread_name.contains('\0') {
            return bad("thread_name must not contain a NUL byte".into());
        }
        Ok(())
    }
}

/// Builds a [`Runtime`]; the last call of each option wins, and [`config`](Self::config)
/// replaces every option it carries.
///
/// ```
/// use hiver_runtime::{DriverType, Runtime};
/// use std::time::Duration;
/// let mut rt = Runtime::builder()
///     .worker_threads(2)
///     .driver_type(DriverType::Auto)
///     .io_entries(512)
///     .park_timeout(Duration::from_millis(100))
///     .build()
///     .unwrap();
/// rt.block_on(async {}).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: RuntimeConfig,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder::default()
    }

    /// Number of worker threads (default: the available parallelism).
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::builder().worker_threads(3).build()?;
    /// assert_eq!(rt.worker_threads(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.config.worker_threads = Some(n);
        self
    }

    /// Capacity of each worker's local run queue (default 256); tasks beyond it go to an
    /// overflow list, never lost.
    ///
    /// ```
    /// use hiver_runtime::{spawn, Runtime};
    /// let mut rt = Runtime::builder().worker_threads(1).queue_size(4).build()?;
    /// let sum = rt.block_on(async {
    ///     let handles: Vec<_> = (0..32u64).map(|i| spawn(async move { i })).collect();
    ///     let mut sum = 0;
    ///     for h in handles {
    ///         sum += h.await.unwrap();
    ///     }
    ///     sum
    /// })?;
    /// assert_eq!(sum, (0..32).sum()); // none lost to the overflow
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn queue_size(mut self, n: usize) -> Self {
        self.config.queue_size = n;
        self
    }

    /// Worker thread name prefix (default `hiver-worker`): threads are `<prefix>-<index>`.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(1).thread_name("web").build()?;
    /// let h = rt.spawn(async { std::thread::current().name().map(String::from) });
    /// assert_eq!(rt.block_on(h)??.as_deref(), Some("web-0"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.config.thread_name = prefix.into();
        self
    }

    /// Which I/O driver (default [`DriverType::Auto`]).
    ///
    /// ```
    /// use hiver_runtime::{DriverType, Runtime};
    /// let rt = Runtime::builder().worker_threads(1).driver_type(DriverType::Epoll).build()?;
    /// assert_eq!(rt.driver_type(), DriverType::Epoll);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn driver_type(mut self, t: DriverType) -> Self {
        self.config.driver_type = t;
        self
    }

    /// I/O queue depth: SQ entries of each worker's ring (default 256; rounded up to a
    /// power of two; 0 and more than 32768, the kernel's `IORING_MAX_ENTRIES`, are
    /// `InvalidInput` errors at `build()`).
    ///
    /// ```
    /// use hiver_runtime::Runtime;
    /// let rt = Runtime::builder().worker_threads(1).io_entries(100).build()?;
    /// let sq = rt.capabilities().sq_entries;
    /// assert!(sq == 0 || sq == 128); // no ring (epoll, kqueue), or rounded up
    /// let err = Runtime::builder().io_entries(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// let err = Runtime::builder().io_entries(u32::MAX).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn io_entries(mut self, n: u32) -> Self {
        self.config.driver_io.entries = n;
        self
    }

    /// Whether idle workers sleep in their driver (default true) or spin.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(1).enable_parking(false).build()?;
    /// let h = rt.spawn(async { 1 + 1 });
    /// assert_eq!(rt.block_on(h)??, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enable_parking(mut self, on: bool) -> Self {
        self.config.enable_parking = on;
        self
    }

    /// Upper bound on one park (default: none, an idle worker sleeps until an event).
    ///
    /// ```
    /// use hiver_runtime::{sleep, Duration, Runtime};
    /// let builder = Runtime::builder().worker_threads(1);
    /// let mut rt = builder.park_timeout(Duration::from_millis(1)).build()?;
    /// rt.block_on(sleep(Duration::from_millis(20)))?;
    /// // The idle worker woke up at least every millisecond, and parked again.
    /// assert!(rt.metrics().workers()[0].parks >= 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn park_timeout(mut self, d: Duration) -> Self {
        self.config.park_timeout = Some(d);
        self
    }

    /// Most threads of the blocking pool (default 512): jobs beyond them wait.
    ///
    /// ```
    /// use hiver_runtime::{spawn_blocking, Runtime};
    /// let mut rt = Runtime::builder().worker_threads(1).max_blocking_threads(1).build()?;
    /// let (a, b) = rt.block_on(async {
    ///     let (a, b) = (spawn_blocking(|| 1), spawn_blocking(|| 2)); // b waits for a's thread
    ///     (a.await.unwrap(), b.await.unwrap())
    /// })?;
    /// assert_eq!(a + b, 3);
    /// assert_eq!(rt.metrics().blocking_threads(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.config.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread lingers before it exits (default 10 s).
    ///
    /// ```
    /// use hiver_runtime::{spawn_blocking, Duration, Runtime};
    /// let builder = Runtime::builder().worker_threads(1);
    /// let mut rt = builder.blocking_keep_alive(Duration::from_millis(10)).build()?;
    /// rt.block_on(async { spawn_blocking(|| ()).await })??;
    /// for _ in 0..500 {
    ///     if rt.metrics().blocking_threads() == 0 { break; }
    ///     std::thread::sleep(Duration::from_millis(10));
    /// }
    /// assert_eq!(rt.metrics().blocking_threads(), 0); // the idle thread exited
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_keep_alive(mut self, d: Duration) -> Self {
        self.config.blocking_keep_alive = d;
        self
    }

    /// Replaces the whole configuration.
    ///
    /// ```
    /// use hiver_runtime::{Runtime, RuntimeConfig};
    /// let mut config = RuntimeConfig::default();
    /// config.worker_threads = Some(2);
    /// let rt = Runtime::builder().worker_threads(8).config(config).build()?;
    /// assert_eq!(rt.worker_threads(), 2); // the config replaced the earlier call
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn config(mut self, config: RuntimeConfig) -> Self {
        self.config = config;
        self
    }

    /// Starts the workers, each with its own driver.
    ///
    /// ```
    /// use hiver_runtime::Runtime;
    /// let mut rt = Runtime::builder().worker_threads(1).build()?;
    /// assert_eq!(rt.block_on(async { 6 * 7 })?, 42);
    /// let err = Runtime::builder().worker_threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for nonsense (0 workers, 0 queue size, 0 or more than 32768 entries);
    /// `Unsupported` for a driver this platform lacks; the driver's error (with the worker named) when a
    /// driver cannot start, e.g. io_uring refused by the kernel.
    pub fn build(self) -> io::Result<Runtime> {
        self.config.validate()?;
        Runtime::start(self.config)
    }
}
