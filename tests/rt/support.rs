//! Helpers shared by the runtime tests.

use std::time::{Duration, Instant};

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
pub(crate) fn runtime(driver: DriverType, workers: usize) -> Runtime {
    let rt = Runtime::builder()
        .worker_threads(workers)
        .driver_type(driver)
        .build()
        .unwrap_or_else(|e| panic!("{driver} must be available on this machine: {e}"));
    assert_eq!(rt.driver_type(), driver);
    rt
}

/// Waits for `cond` with a deadline (a watchdog against hangs, not a synchronisation).
pub(crate) fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// A future that yields once.
pub(crate) struct YieldOnce(pub bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

pub(crate) async fn yield_now() {
    YieldOnce(false).await
}
