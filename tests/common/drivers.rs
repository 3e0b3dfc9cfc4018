//! The per-driver test helpers, shared by the test binaries (included with `#[path]`).

use hiver_runtime::{DriverType, Runtime};

/// The drivers this machine has; on Linux io_uring must be one of them (a refused
/// io_uring is a failure here, not a skip).
pub(crate) fn drivers() -> Vec<DriverType> {
    if cfg!(target_os = "linux") {
        vec![DriverType::IOUring, DriverType::Epoll]
    } else {
        vec![DriverType::Kqueue]
    }
}

/// A runtime on `driver` with `workers` workers, checked to really run that driver.
#[allow(dead_code)] // not every binary builds runtimes through it
pub(crate) fn runtime(driver: DriverType, workers: usize) -> Runtime {
    let rt = Runtime::builder()
        .worker_threads(workers)
        .driver_type(driver)
        .build()
        .unwrap_or_else(|e| panic!("{driver} must be available on this machine: {e}"));
    assert_eq!(rt.driver_type(), driver);
    rt
}
