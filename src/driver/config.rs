//! `DriverType`, `DriverConfig` and its builder.

/// Which I/O driver the workers use.
///
/// ```
/// use hiver_runtime::{DriverType, Runtime};
/// let rt = Runtime::builder().worker_threads(1).driver_type(DriverType::Epoll).build().unwrap();
/// # drop(rt);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DriverType {
    /// io_uring where the kernel allows it, else epoll (Linux); kqueue on macOS and BSD.
    #[default]
    Auto,
    /// io_uring (Linux 5.11+); an error if the kernel refuses it.
    IOUring,
    /// epoll (Linux).
    Epoll,
    /// kqueue (macOS, FreeBSD and the other BSDs).
    Kqueue,
}

impl std::fmt::Display for DriverType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DriverType::Auto => "auto",
            DriverType::IOUring => "io_uring",
            DriverType::Epoll => "epoll",
            DriverType::Kqueue => "kqueue",
        })
    }
}

/// Fine-grained settings of the I/O driver, built with [`DriverConfig::builder`].
///
/// ```
/// use hiver_runtime::driver::DriverConfig;
/// let config = DriverConfig::builder().entries(2048).cpu_affinity(0).build();
/// assert_eq!(config.entries(), 2048);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverConfig {
    pub(crate) entries: u32,
    pub(crate) submit_wait: bool,
    pub(crate) cpu_affinity: Option<usize>,
    pub(crate) defer_wakeup: bool,
    pub(crate) max_ops_per_fd: usize,
    /// Unit tests only: an opcode the io_uring driver must treat as missing from the
    /// kernel's probe when it starts (RELIABILITY.md case 13, a faked missing opcode).
    #[cfg(test)]
    pub(crate) fake_missing_op: Option<u8>,
    /// Unit tests only: buffers in each io_uring worker's provided-buffer ring (a power of
    /// two below the default 256), to exhaust it (RELIABILITY.md case 15).
    #[cfg(test)]
    pub(crate) test_buffers: Option<u16>,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            entries: 256,
            submit_wait: true,
            cpu_affinity: None,
            defer_wakeup: false,
            max_ops_per_fd: 64,
            #[cfg(test)]
            fake_missing_op: None,
            #[cfg(test)]
            test_buffers: None,
        }
    }
}

impl DriverConfig {
    /// A builder starting from the defaults: 256 entries, no pinning, `submit_wait` on,
    /// `defer_wakeup` off, 64 operations per descriptor.
    ///
    /// The defaults were measured on the io_uring driver: `submit_wait` saves one kernel
    /// entry per idle turn (1.0 instead of 2.0 entries per operation that cannot complete
    /// at once, `tests/rt/driver_config.rs`); `defer_wakeup` (`DEFER_TASKRUN`) delays every
    /// completion until the worker enters to wait for it, and stalled a peer runtime on
    /// this class of machine, so it is opt-in; 64 operations
    /// per descriptor is far above what a stream uses (one read, one write) and bounds a
    /// datagram socket shared by many tasks.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// let config = DriverConfig::builder().build();
    /// assert_eq!(config, DriverConfig::default());
    /// assert_eq!((config.entries(), config.max_ops_per_fd()), (256, 64));
    /// ```
    pub fn builder() -> DriverConfigBuilder {
        DriverConfigBuilder {
            config: DriverConfig::default(),
        }
    }

    /// SQ size of each worker's ring (io_uring), as configured; `build()` rounds it up to a
    /// power of two, and refuses 0 or more than 32768 (the kernel's `IORING_MAX_ENTRIES`)
    /// with `InvalidInput`.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// // As configured: the rounding happens when the runtime is built.
    /// assert_eq!(DriverConfig::builder().entries(1000).build().entries(), 1000);
    /// ```
    pub fn entries(&self) -> u32 {
        self.entries
    }

    /// Whether a submission also waits for a completion in the same kernel entry.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// assert!(DriverConfig::default().submit_wait());
    /// assert!(!DriverConfig::builder().submit_wait(false).build().submit_wait());
    /// ```
    pub fn submit_wait(&self) -> bool {
        self.submit_wait
    }

    /// The first core worker threads are pinned to, if any.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// assert_eq!(DriverConfig::default().cpu_affinity(), None);
    /// assert_eq!(DriverConfig::builder().cpu_affinity(2).build().cpu_affinity(), Some(2));
    /// ```
    pub fn cpu_affinity(&self) -> Option<usize> {
        self.cpu_affinity
    }

    /// Whether task wake-ups are deferred until a whole completion batch is processed
    /// (io_uring: `IORING_SETUP_DEFER_TASKRUN` where the kernel has it).
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// assert!(!DriverConfig::default().defer_wakeup());
    /// assert!(DriverConfig::builder().defer_wakeup(true).build().defer_wakeup());
    /// ```
    pub fn defer_wakeup(&self) -> bool {
        self.defer_wakeup
    }

    /// The most operations in flight per file descriptor.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// assert_eq!(DriverConfig::default().max_ops_per_fd(), 64);
    /// assert_eq!(DriverConfig::builder().max_ops_per_fd(8).build().max_ops_per_fd(), 8);
    /// ```
    pub fn max_ops_per_fd(&self) -> usize {
        self.max_ops_per_fd
    }
}

/// Builds a [`DriverConfig`]; the last call of each option wins.
///
/// ```
/// use hiver_runtime::driver::DriverConfig;
/// use hiver_runtime::{Runtime, RuntimeConfig};
/// let mut config = RuntimeConfig::default();
/// config.worker_threads = Some(1);
/// config.driver_io = DriverConfig::builder().entries(64).entries(128).build();
/// assert_eq!(config.driver_io.entries(), 128); // the last call wins
/// let rt = Runtime::builder().config(config).build()?;
/// # drop(rt);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct DriverConfigBuilder {
    config: DriverConfig,
}

impl DriverConfigBuilder {
    /// SQ/CQ size (rounded up to the next power of two when the runtime is built; 0 makes
    /// `build()` of the runtime fail with `InvalidInput`).
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// use hiver_runtime::{Runtime, RuntimeConfig};
    /// let mut config = RuntimeConfig::default();
    /// config.driver_io = DriverConfig::builder().entries(0).build();
    /// let err = Runtime::builder().config(config).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn entries(mut self, entries: u32) -> Self {
        self.config.entries = entries;
        self
    }

    /// Submit and wait for a completion in one kernel entry: a worker that runs out of
    /// tasks hands its queued operations to the kernel in the same `io_uring_enter` that
    /// waits. Off: it submits them right after its tasks ran, then enters again to wait.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// let config = DriverConfig::builder().submit_wait(false).build();
    /// assert!(!config.submit_wait());
    /// ```
    pub fn submit_wait(mut self, on: bool) -> Self {
        self.config.submit_wait = on;
        self
    }

    /// Pins worker `i` to core `(core + i) % cores`.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// let config = DriverConfig::builder().cpu_affinity(0).build();
    /// assert_eq!(config.cpu_affinity(), Some(0));
    /// ```
    pub fn cpu_affinity(mut self, core: usize) -> Self {
        self.config.cpu_affinity = Some(core);
        self
    }

    /// Defer task wake-ups to the end of each completion batch, and ask io_uring for
    /// `IORING_SETUP_DEFER_TASKRUN` (completions are then processed only when the worker
    /// enters the kernel to wait for them).
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// let config = DriverConfig::builder().defer_wakeup(true).build();
    /// assert!(config.defer_wakeup());
    /// ```
    pub fn defer_wakeup(mut self, on: bool) -> Self {
        self.config.defer_wakeup = on;
        self
    }

    /// Cap of io_uring operations in flight per file descriptor: excess ones wait for room,
    /// none fail (0 counts as 1). A cancelled operation counts until its final completion.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// let config = DriverConfig::builder().max_ops_per_fd(4).build();
    /// assert_eq!(config.max_ops_per_fd(), 4);
    /// ```
    pub fn max_ops_per_fd(mut self, n: usize) -> Self {
        self.config.max_ops_per_fd = n;
        self
    }

    /// The configuration.
    ///
    /// ```
    /// use hiver_runtime::driver::DriverConfig;
    /// let config = DriverConfig::builder().entries(512).submit_wait(false).build();
    /// assert_eq!((config.entries(), config.submit_wait()), (512, false));
    /// ```
    pub fn build(self) -> DriverConfig {
        self.config
    }
}
