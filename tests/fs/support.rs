//! Helpers of the file tests: per-driver runs on a worker with descriptor counting, temp
//! directories that clean up, patterned data.

#![allow(dead_code)] // not every test file uses every helper

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hiver_runtime::{DriverType, RuntimeMetrics};

pub(crate) use crate::drivers::drivers;
pub(crate) use crate::fds::{assert_no_fd_leak, open_fds};

static SERIAL: Mutex<()> = Mutex::new(());

/// The binary-wide lock every test holds (a failed test does not poison it).
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The bound on every test body: a hang becomes a failure.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `body` as a task on a worker of a fresh `driver` runtime with `workers` workers,
/// within [`DEADLINE`]; returns its output and the runtime's counters (taken after it),
/// and asserts that the runtime and the body left no descriptor open.
pub(crate) fn run<T, F>(
    driver: DriverType,
    workers: usize,
    what: &str,
    body: F,
) -> (T, RuntimeMetrics)
where
    F: Future<Output = io::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let before = open_fds();
    let mut rt = crate::drivers::runtime(driver, workers);
    let joined = rt
        .block_on(async {
            hiver_runtime::timeout(DEADLINE, hiver_runtime::spawn(body))
                .await
                .unwrap_or_else(|_| panic!("{driver}: {what}: not done within {DEADLINE:?}"))
        })
        .unwrap_or_else(|e| panic!("{driver}: {what}: block_on: {e}"));
    let out = match joined {
        Ok(r) => r.unwrap_or_else(|e| panic!("{driver}: {what}: {e}")),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("{driver}: {what}: task: {e}"),
    };
    let metrics = rt.metrics();
    drop(rt);
    assert_no_fd_leak(before, format_args!("{driver}: {what}"));
    (out, metrics)
}

/// [`run`] without the counters.
pub(crate) fn run_body<T, F>(driver: DriverType, workers: usize, what: &str, body: F) -> T
where
    F: Future<Output = io::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    run(driver, workers, what, body).0
}

/// A directory of its own under the system's temp directory, removed with all it holds
/// when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hiver-fs-test-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the test's temp dir");
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` bytes of a pattern that differs at every offset of a 251-byte cycle.
pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// The sum of a counter over the workers.
pub(crate) fn total(m: &RuntimeMetrics, f: impl Fn(&hiver_runtime::WorkerMetrics) -> u64) -> u64 {
    m.workers().iter().map(f).sum()
}

/// The first byte where `got` and `want` differ, for a readable failure.
pub(crate) fn first_diff(got: &[u8], want: &[u8]) -> Option<usize> {
    got.iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .or((got.len() != want.len()).then(|| got.len().min(want.len())))
}
