//! What the kernel offered and what the runtime chose, reported by
//! [`Runtime::capabilities`](crate::Runtime::capabilities).

use super::DriverType;

/// The driver the workers run and, for io_uring, what the ring was granted.
///
/// ```
/// use hiver_runtime::{DriverType, Runtime};
/// let rt = Runtime::builder().worker_threads(1).driver_type(DriverType::Epoll).build()?;
/// let caps = rt.capabilities();
/// assert_eq!(caps.driver, DriverType::Epoll);
/// assert_eq!(caps.sq_entries, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The driver running (never `Auto`).
    pub driver: DriverType,
    /// io_uring: the `IORING_SETUP_*` flags the kernel accepted (the runtime asks for the
    /// newest set and steps down on `EINVAL`); 0 for the other drivers.
    pub setup_flags: u32,
    /// io_uring: the `IORING_FEAT_*` bits the kernel reported; 0 otherwise.
    pub features: u32,
    /// io_uring: SQ entries of each worker's ring (a power of two); 0 otherwise.
    pub sq_entries: u32,
    /// io_uring: CQ entries of each worker's ring; 0 otherwise.
    pub cq_entries: u32,
    /// io_uring: the provided-buffer ring each worker sets up on its first receive
    /// (`(buffers, bytes each)`); `None` otherwise.
    pub buffer_ring: Option<(u16, u32)>,
    /// Why `DriverType::Auto` did not choose io_uring, when it did not.
    pub fallback: Option<String>,
}

impl Capabilities {
    /// `IORING_SETUP_DEFER_TASKRUN`: completions run only when the worker asks for them.
    ///
    /// ```
    /// use hiver_runtime::{Capabilities, Runtime};
    /// // `defer_wakeup` is off by default, so no ring asks for DEFER_TASKRUN.
    /// let rt = Runtime::builder().worker_threads(1).build()?;
    /// assert_eq!(rt.capabilities().setup_flags & Capabilities::SETUP_DEFER_TASKRUN, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const SETUP_DEFER_TASKRUN: u32 = 1 << 13;
    /// `IORING_SETUP_COOP_TASKRUN`: no interrupt per completion.
    ///
    /// ```
    /// use hiver_runtime::{Capabilities, DriverType, Runtime};
    /// let rt = Runtime::builder().worker_threads(1).build()?;
    /// let caps = rt.capabilities();
    /// let coop = caps.setup_flags & Capabilities::SETUP_COOP_TASKRUN != 0;
    /// // Only an io_uring ring has setup flags.
    /// assert!(!coop || caps.driver == DriverType::IOUring);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const SETUP_COOP_TASKRUN: u32 = 1 << 8;
    /// `IORING_SETUP_SINGLE_ISSUER`: one thread submits.
    ///
    /// ```
    /// use hiver_runtime::{Capabilities, DriverType, Runtime};
    /// let rt = Runtime::builder().worker_threads(1).driver_type(DriverType::Epoll).build()?;
    /// // epoll has no ring, so no setup flag at all.
    /// assert_eq!(rt.capabilities().setup_flags & Capabilities::SETUP_SINGLE_ISSUER, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const SETUP_SINGLE_ISSUER: u32 = 1 << 12;

    pub(crate) fn readiness(driver: DriverType, fallback: Option<String>) -> Capabilities {
        Capabilities {
            driver,
            setup_flags: 0,
            features: 0,
            sq_entries: 0,
            cq_entries: 0,
            buffer_ring: None,
            fallback,
        }
    }
}
