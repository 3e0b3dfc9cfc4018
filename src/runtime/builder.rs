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
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.config.worker_threads = Some(n);
        self
    }

    /// Capacity of each worker's local run queue (default 256); tasks beyond it go to an
    /// overflow list, never lost.
    pub fn queue_size(mut self, n: usize) -> Self {
        self.config.queue_size = n;
        self
    }

    /// Worker thread name prefix (default `hiver-worker`): threads are `<prefix>-<index>`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.config.thread_name = prefix.into();
        self
    }

    /// Which I/O driver (default [`DriverType::Auto`]).
    pub fn driver_type(mut self, t: DriverType) -> Self {
        self.config.driver_type = t;
        self
    }

    /// I/O queue depth: SQ entries of each worker's ring (default 256; rounded up to a
    /// power of two, clamped to 32768; 0 is an error at `build()`).
    pub fn io_entries(mut self, n: u32) -> Self {
        self.config.driver_io.entries = n;
        self
    }

    /// Whether idle workers sleep in their driver (default true) or spin.
    pub fn enable_parking(mut self, on: bool) -> Self {
        self.config.enable_parking = on;
        self
    }

    /// Upper bound on one park (default: none, an idle worker sleeps until an event).
    pub fn park_timeout(mut self, d: Duration) -> Self {
        self.config.park_timeout = Some(d);
        self
    }

    /// Most threads of the blocking pool (default 512): jobs beyond them wait.
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.config.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread lingers before it exits (default 10 s).
    pub fn blocking_keep_alive(mut self, d: Duration) -> Self {
        self.config.blocking_keep_alive = d;
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: RuntimeConfig) -> Self {
        self.config = config;
        self
    }

    /// Starts the workers, each with its own driver.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for nonsense (0 workers, 0 queue size, 0 entries); `Unsupported` for
    /// a driver this platform lacks; the driver's error (with the worker named) when a
    /// driver cannot start, e.g. io_uring refused by the kernel.
    pub fn build(self) -> io::Result<Runtime> {
        self.config.validate()?;
        Runtime::start(self.config)
    }
}
