//! The `DriverConfig` options that shape the io_uring driver's I/O path, each shown by its
//! effect: `defer_wakeup` (the ring's flags, and I/O still flowing), `submit_wait` (fewer
//! kernel entries per round trip), `max_ops_per_fd` (operations beyond the cap wait, none
//! fail), and what `Runtime::capabilities` reports.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::driver::DriverConfig;
use hiver_runtime::io::UdpSocket;
use hiver_runtime::{Capabilities, DriverType, Duration, Runtime, RuntimeConfig};

fn uring(config: DriverConfig, workers: usize) -> Runtime {
    let mut c = RuntimeConfig::default();
    c.worker_threads = Some(workers);
    c.driver_type = DriverType::IOUring;
    c.driver_io = config;
    Runtime::builder().config(c).build().unwrap()
}

/// Kernel entries per iteration of a loop that starts a receive that never completes (on
/// a socket of its own, in a task of its own) and then sleeps 1 ms: each iteration
/// submits one operation that cannot complete at submission, so without `submit_wait` the
/// worker enters once to submit it and once more to wait for the timer.
fn entries_per_idle_submission(rt: &mut Runtime, rounds: u32) -> f64 {
    let before = rt.metrics().workers()[0].kernel_entries;
    let task = rt.spawn(async move {
        let mut waiting = Vec::new();
        for _ in 0..rounds {
            let sock = UdpSocket::bind("127.0.0.1:0").await?;
            waiting.push(hiver_runtime::spawn(async move {
                let mut buf = [0u8; 8];
                sock.recv_from(&mut buf).await
            }));
            hiver_runtime::sleep(Duration::from_millis(1)).await;
        }
        Ok::<_, std::io::Error>(waiting)
    });
    let waiting = rt.block_on(task).unwrap().unwrap().unwrap();
    let after = rt.metrics().workers()[0].kernel_entries;
    // The receives are still waiting (nothing was sent): they are cancelled with the runtime.
    assert!(waiting.iter().all(|h| !h.is_finished()));
    (after - before) as f64 / f64::from(rounds)
}

#[test]
fn submit_wait_submits_and_waits_in_one_entry() {
    let mut on = uring(DriverConfig::builder().submit_wait(true).build(), 1);
    let mut off = uring(DriverConfig::builder().submit_wait(false).build(), 1);
    let e_on = entries_per_idle_submission(&mut on, 100);
    let e_off = entries_per_idle_submission(&mut off, 100);
    println!("kernel entries per idle submission: submit_wait on {e_on:.2}, off {e_off:.2}");
    assert!(
        e_on + 0.5 < e_off,
        "submit_wait saves an entry per submission: on {e_on:.2} vs off {e_off:.2}"
    );
}

#[test]
fn defer_wakeup_sets_defer_taskrun_and_io_still_flows() {
    let mut on = uring(DriverConfig::builder().defer_wakeup(true).build(), 1);
    let off = uring(DriverConfig::builder().defer_wakeup(false).build(), 1);
    let flags = on.capabilities().setup_flags;
    assert_ne!(
        flags & Capabilities::SETUP_DEFER_TASKRUN,
        0,
        "DEFER_TASKRUN granted: {flags:#x}"
    );
    assert_eq!(
        off.capabilities().setup_flags & Capabilities::SETUP_DEFER_TASKRUN,
        0
    );
    // I/O and timers still work with completions run only when the worker asks.
    let per = entries_per_idle_submission(&mut on, 20);
    assert!(per > 0.0);
}

#[test]
fn capabilities_report_the_driver_and_the_ring() {
    let rt = uring(DriverConfig::builder().entries(100).build(), 1);
    let caps = rt.capabilities();
    assert_eq!(caps.driver, DriverType::IOUring);
    assert_eq!(caps.sq_entries, 128, "100 rounded up");
    assert!(caps.cq_entries >= caps.sq_entries);
    assert_ne!(caps.setup_flags & Capabilities::SETUP_COOP_TASKRUN, 0);
    assert!(caps.buffer_ring.is_some());
    assert_eq!(caps.fallback, None);
    let epoll = Runtime::builder()
        .worker_threads(1)
        .driver_type(DriverType::Epoll)
        .build()
        .unwrap();
    assert_eq!(epoll.capabilities().driver, DriverType::Epoll);
    assert_eq!(epoll.capabilities().setup_flags, 0);
}

/// Starts `n` receives on one UDP socket from tasks on one worker and waits until the
/// worker is quiet; returns its operations in flight, then feeds every receive.
fn in_flight_with_cap(cap: usize, n: usize) -> u64 {
    let mut rt = uring(DriverConfig::builder().max_ops_per_fd(cap).build(), 1);
    let started = Arc::new(AtomicUsize::new(0));
    let sock = Arc::new(
        rt.block_on(UdpSocket::bind("127.0.0.1:0"))
            .unwrap()
            .unwrap(),
    );
    let addr = sock.local_addr().unwrap();
    let mut handles = Vec::new();
    for _ in 0..n {
        let (sock, started) = (sock.clone(), started.clone());
        handles.push(rt.spawn(async move {
            started.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8];
            sock.recv_from(&mut buf).await.map(|(n, _)| n)
        }));
    }
    // Wait (bounded) until every task started and the worker stopped polling: a condition
    // checked every millisecond, not a guess of how long it takes.
    let mut last_polls = u64::MAX;
    let mut quiet = 0;
    for _ in 0..5_000 {
        rt.block_on(hiver_runtime::sleep(Duration::from_millis(1)))
            .unwrap();
        let polls = rt.metrics().workers()[0].polls;
        if started.load(Ordering::SeqCst) == n && polls == last_polls {
            quiet += 1;
            if quiet == 5 {
                break;
            }
        } else {
            quiet = 0;
        }
        last_polls = polls;
    }
    assert_eq!(quiet, 5, "the worker never went quiet");
    let in_flight = rt.metrics().workers()[0].io_in_flight;
    // Every receive completes, however many waited for room.
    let results = rt
        .block_on(async move {
            let tx = UdpSocket::bind("127.0.0.1:0").await?;
            for i in 0..n {
                tx.send_to(&[i as u8; 4], addr).await?;
            }
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.unwrap()?);
            }
            Ok::<_, std::io::Error>(out)
        })
        .unwrap()
        .unwrap();
    assert_eq!(results, vec![4; n]);
    in_flight
}

#[test]
fn max_ops_per_fd_caps_operations_in_flight_and_none_fail() {
    assert_eq!(
        in_flight_with_cap(1, 8),
        1,
        "cap 1: one receive in the kernel"
    );
    assert_eq!(in_flight_with_cap(3, 8), 3, "cap 3: three");
    assert_eq!(in_flight_with_cap(64, 8), 8, "under the cap: all eight");
}
