//! `#[hiver_runtime::main]` and `#[hiver_runtime::test]`: the attribute's options reach the
//! runtime the function runs on.

use std::cell::RefCell;
use std::sync::mpsc;
use std::time::Duration;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, spawn_on};

/// A "main" under the attribute, called from the tests below (a binary's `main` is the
/// same expansion).
#[hiver_runtime::main(worker_threads = 3, thread_name = "macro-main")]
async fn main_like() -> std::io::Result<String> {
    // Three workers: worker 2 exists, worker 3 does not.
    let name = spawn_on(2, async { std::thread::current().name().map(String::from) })?
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    assert!(spawn_on(3, async {}).is_err());
    // `?` on io::Error inside the body works: the output type is the function's.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let _ = listener.local_addr()?;
    Ok(name.unwrap_or_default())
}

#[test]
fn main_attribute_builds_the_runtime_from_its_options() {
    assert_eq!(main_like().unwrap(), "macro-main-2");
}

#[hiver_runtime::test]
async fn test_attribute_runs_the_body_to_completion() {
    let v = spawn(async { 21 * 2 }).await.unwrap();
    assert_eq!(v, 42);
}

#[cfg(target_os = "linux")]
#[hiver_runtime::test(worker_threads = 1, driver = "epoll")]
async fn test_attribute_sets_the_driver_epoll() {
    echo_once().await;
}

#[cfg(target_os = "linux")]
#[hiver_runtime::test(
    worker_threads = 1,
    driver = "io_uring",
    enable_parking = true,
    park_timeout_ms = 50
)]
async fn test_attribute_sets_the_driver_io_uring() {
    echo_once().await;
}

#[hiver_runtime::test(crate = "hiver_runtime", max_blocking_threads = 2, queue_size = 64)]
async fn test_attribute_takes_a_crate_path_and_pool_options() {
    let v = hiver_runtime::spawn_blocking(|| 5).await.unwrap();
    assert_eq!(v, 5);
}

/// The blocking pool's keep-alive: a pool thread idle for 10 ms exits (the default keeps it
/// 10 s, far beyond the wait below). The thread's exit is seen by a thread-local's
/// destructor, which runs when the thread ends.
#[hiver_runtime::test(worker_threads = 1, blocking_keep_alive_ms = 10)]
async fn test_attribute_sets_the_blocking_keep_alive() {
    struct OnExit(mpsc::Sender<()>);
    impl Drop for OnExit {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    thread_local!(static ON_EXIT: RefCell<Option<OnExit>> = const { RefCell::new(None) });
    let (tx, exited) = mpsc::channel();
    hiver_runtime::spawn_blocking(move || ON_EXIT.with(|s| *s.borrow_mut() = Some(OnExit(tx))))
        .await
        .unwrap();
    // The body runs on the thread that called it, not on the pool: blocking here is fine.
    assert_eq!(exited.recv_timeout(Duration::from_secs(5)), Ok(()));
}

/// `cpu_affinity = 0`: worker 0 is pinned to core 0 alone (`(0 + index) % cores`).
#[cfg(target_os = "linux")]
#[hiver_runtime::test(worker_threads = 1, cpu_affinity = 0)]
async fn test_attribute_sets_the_cpu_affinity() {
    let allowed = spawn_on(0, async {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"));
        line.unwrap().split_once(':').unwrap().1.trim().to_string()
    })
    .unwrap()
    .await
    .unwrap();
    assert_eq!(allowed, "0");
}

/// The other driver options reach the ring: the runtime starts with them on io_uring (a
/// `DEFER_TASKRUN` ring, where the kernel has it, completes only when the worker waits),
/// and I/O works under one operation per descriptor, with the two directions of one
/// stream taking turns.
#[cfg(target_os = "linux")]
#[hiver_runtime::test(
    worker_threads = 1,
    driver = "io_uring",
    io_entries = 8,
    submit_wait = false,
    defer_wakeup = true,
    max_ops_per_fd = 1
)]
async fn test_attribute_sets_the_driver_config() {
    echo_once().await;
}

#[test]
#[should_panic(expected = "boom")]
fn a_panic_in_the_body_fails_the_test() {
    #[hiver_runtime::main(worker_threads = 1)]
    async fn body() {
        panic!("boom");
    }
    body();
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
/// One TCP round trip on the driver the attribute chose (the driver is checked by the
/// runtime: a named driver that cannot start fails the build of the runtime).
async fn echo_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
    });
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    server.await.unwrap();
}
