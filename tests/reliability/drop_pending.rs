//! Case 25, dropping a runtime with tasks pending:
//! (1) 10,000 tasks (2,000 in debug), a third parked in a UDP `recv` (each on its own
//!     socket), a third in an hour-long `sleep`, a third in a channel `recv` whose sender
//!     lives on: dropping the runtime (under a watchdog) drops every task's future exactly
//!     once (drop counters) and closes every descriptor (the count is back to baseline);
//! (2) tasks whose `Drop` wakes another pending task's waker, or calls `spawn`, while the
//!     runtime drops them (tokio #2046, `wake_while_rt_is_dropping`): no deadlock (the
//!     watchdog), no panic (the `spawn` is checked not to panic), every future (those
//!     spawned from a `Drop` included) dropped exactly once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use hiver_runtime::io::UdpSocket;
use hiver_runtime::{bounded, sleep, spawn, yield_now, Sender};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, raise_nofile, runtime, scaled, serial, within, Counted,
    Watchdog,
};

#[test]
fn dropping_a_runtime_drops_ten_thousand_parked_tasks_once() {
    let _serial = serial();
    let n = scaled(10_000, 10_000);
    let _limit = raise_nofile(n + 1024);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let dropped = Arc::new(AtomicU64::new(0));
        let parked = Arc::new(AtomicU64::new(0));
        let (d, p) = (dropped.clone(), parked.clone());
        let senders: Vec<Sender<u64>> = rt
            .block_on(within("parking tasks", async move {
                let mut senders = Vec::new();
                for i in 0..n {
                    let guard = Counted(d.clone());
                    let p = p.clone();
                    match i % 3 {
                        0 => {
                            let sock = UdpSocket::bind("127.0.0.1:0").await?;
                            spawn(async move {
                                let _guard = guard;
                                p.fetch_add(1, Ordering::SeqCst);
                                let mut buf = [0u8; 64];
                                // Nobody sends: parked in the read until the runtime drops.
                                let r = sock.recv(&mut buf).await;
                                panic!("a recv nobody sent to returned {r:?}");
                            });
                        }
                        1 => {
                            spawn(async move {
                                let _guard = guard;
                                p.fetch_add(1, Ordering::SeqCst);
                                sleep(Duration::from_secs(3600)).await;
                                panic!("an hour passed");
                            });
                        }
                        _ => {
                            let (tx, rx) = bounded::<u64>(1);
                            senders.push(tx);
                            spawn(async move {
                                let _guard = guard;
                                p.fetch_add(1, Ordering::SeqCst);
                                let r = rx.recv().await;
                                panic!("a recv nobody sent to returned {r:?}");
                            });
                        }
                    }
                }
                while p.load(Ordering::SeqCst) < n {
                    yield_now().await;
                }
                Ok::<_, std::io::Error>(senders)
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            0,
            "{driver}: nothing dropped yet"
        );
        {
            let _w = Watchdog::arm(
                format!("{driver}: dropping {n} parked tasks"),
                Duration::from_secs(30),
            );
            drop(rt);
        }
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            n,
            "{driver}: every parked future dropped exactly once"
        );
        // The receivers went with their tasks: the senders see a closed channel.
        assert!(
            senders.iter().all(|s| s.is_closed()),
            "{driver}: receivers dropped"
        );
        drop(senders);
        println!("{driver}: {n} parked tasks (UDP recv, sleep, channel recv) dropped once each");
        assert_no_fd_leak(before, format_args!("{driver}: {n} parked tasks"));
    }
}

/// Wakes the stored waker and spawns a task when dropped.
struct WakeAndSpawnOnDrop {
    waker: Arc<Mutex<Option<Waker>>>,
    spawned_drops: Arc<AtomicU64>,
    spawn_panics: Arc<AtomicU64>,
    spawns: Arc<AtomicU64>,
}

impl Drop for WakeAndSpawnOnDrop {
    fn drop(&mut self) {
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake_by_ref();
            w.wake();
        }
        let guard = Counted(self.spawned_drops.clone());
        let spawns = self.spawns.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            spawns.fetch_add(1, Ordering::SeqCst);
            drop(spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            }));
        }));
        if r.is_err() {
            self.spawn_panics.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn drops_that_wake_or_spawn_during_runtime_drop_neither_deadlock_nor_panic() {
    let _serial = serial();
    const PAIRS: u64 = 200;
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let dropped = Arc::new(AtomicU64::new(0));
        let spawned_drops = Arc::new(AtomicU64::new(0));
        let spawn_panics = Arc::new(AtomicU64::new(0));
        let spawns = Arc::new(AtomicU64::new(0));
        let ready = Arc::new(AtomicU64::new(0));
        let (d, sd, sp, ss, r) = (
            dropped.clone(),
            spawned_drops.clone(),
            spawn_panics.clone(),
            spawns.clone(),
            ready.clone(),
        );
        rt.block_on(within("wakers in drops", async move {
            for _ in 0..PAIRS {
                let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
                // B: parks, leaving its waker for A's Drop.
                let (b_slot, b_guard, b_ready) = (slot.clone(), Counted(d.clone()), r.clone());
                spawn(async move {
                    let _guard = b_guard;
                    std::future::poll_fn(|cx| {
                        if b_slot.lock().unwrap().replace(cx.waker().clone()).is_none() {
                            b_ready.fetch_add(1, Ordering::SeqCst);
                        }
                        std::task::Poll::<()>::Pending
                    })
                    .await;
                });
                // A: parks holding the object whose Drop wakes B and spawns.
                let a = WakeAndSpawnOnDrop {
                    waker: slot,
                    spawned_drops: sd.clone(),
                    spawn_panics: sp.clone(),
                    spawns: ss.clone(),
                };
                let (a_guard, a_ready) = (Counted(d.clone()), r.clone());
                spawn(async move {
                    let _guard = a_guard;
                    let _a = a;
                    a_ready.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                });
            }
            while r.load(Ordering::SeqCst) < 2 * PAIRS {
                yield_now().await;
            }
        }))
        .unwrap();
        {
            let _w = Watchdog::arm(
                format!("{driver}: drop with waking drops"),
                Duration::from_secs(30),
            );
            drop(rt);
        }
        println!(
            "{driver}: {PAIRS} drops woke a task and spawned one during the runtime's drop: \
             {} spawns, {} panicked, {} spawned futures dropped",
            spawns.load(Ordering::SeqCst),
            spawn_panics.load(Ordering::SeqCst),
            spawned_drops.load(Ordering::SeqCst),
        );
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            2 * PAIRS,
            "{driver}: A and B once each"
        );
        assert_eq!(
            spawns.load(Ordering::SeqCst),
            PAIRS,
            "{driver}: every Drop ran its spawn"
        );
        assert_eq!(
            spawn_panics.load(Ordering::SeqCst),
            0,
            "{driver}: spawn in a Drop panicked"
        );
        assert_eq!(
            spawned_drops.load(Ordering::SeqCst),
            PAIRS,
            "{driver}: every future spawned from a Drop is dropped once"
        );
        assert_no_fd_leak(before, format_args!("{driver}: waking drops"));
    }
}
