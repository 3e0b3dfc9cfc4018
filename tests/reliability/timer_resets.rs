//! Case 29, timer resets, drops from a wake, sub-millisecond sleeps, cancel storms; per
//! driver, on a 2-worker runtime:
//! (1) `Sleep::reset` both ways after the sleep was registered: moved earlier (from an hour
//!     to 20 ms) it fires, not before the new deadline; moved later (from 5 ms to 60 ms) it
//!     has not fired when a 20 ms sleep does, and fires not before the new deadline; 1,000
//!     resets in a row end with one firing, after the last deadline;
//! (2) sleeps dropped from inside another timer's wake (tokio `drop_from_wake`): per
//!     worker 100 timers A, each with a B due in the same tick (registered after A) and a
//!     B2 due 20 ms later; A's waker drops both: no panic, no deadlock, every A fires, a
//!     B2 (cancelled while the wheel fires) never wakes, a B wakes at most once (its
//!     waker was collected with A's before the drop), the wheels end empty;
//! (3) sub-millisecond sleeps round up: 1,000 x `sleep(100 µs)` (and 1 µs, 999 µs) each
//!     complete no earlier than asked;
//! (4) 1,000,000 timers (200,000 in debug) registered and dropped before firing: the wheels
//!     end empty (`timers` metrics 0) and the resident set after the storm is within 16 MiB
//!     of what it was after a warm-up storm (RSS from /proc/self/statm).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use hiver_runtime::{select_two, sleep, spawn, spawn_on, Instant, Sleep};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, within, Watchdog,
};

/// Polls `s` once with the task's waker (registers it with the wheel).
async fn register(s: &mut Sleep) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *s).poll(cx).is_ready())).await
}

#[test]
fn resets_earlier_and_later_fire_at_the_new_deadline() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        rt.block_on(within("timer resets", async {
            let h = spawn(async {
                // Earlier: an hour, registered, moved to 20 ms.
                let mut s = sleep(Duration::from_secs(3600));
                assert!(!register(&mut s).await);
                let target = Instant::now() + Duration::from_millis(20);
                s.reset(target);
                (&mut s).await;
                assert!(
                    Instant::now() >= target,
                    "fired before the earlier deadline"
                );

                // Later: 5 ms, registered, moved to 60 ms; a 20 ms sleep fires first.
                let mut s = sleep(Duration::from_millis(5));
                assert!(!register(&mut s).await);
                let target = Instant::now() + Duration::from_millis(60);
                s.reset(target);
                let first = select_two(&mut s, sleep(Duration::from_millis(20))).await;
                assert!(
                    matches!(first, hiver_runtime::select::SelectTwoOutput::Second(())),
                    "the reset sleep fired at its old deadline"
                );
                (&mut s).await;
                assert!(Instant::now() >= target, "fired before the later deadline");

                // 1,000 resets in a row, each registered, alternating far and near.
                let mut s = sleep(Duration::from_secs(60));
                for i in 0..1000u64 {
                    let d = if i % 2 == 0 { 3_600_000 - i } else { 1 + i % 7 };
                    s.reset(Instant::now() + Duration::from_millis(d));
                    assert!(!register(&mut s).await, "reset {i} fired at once");
                }
                let target = Instant::now() + Duration::from_millis(15);
                s.reset(target);
                (&mut s).await;
                assert!(Instant::now() >= target, "fired before the last deadline");
            });
            h.await.expect("the reset task");
        }))
        .unwrap();
        let m = rt.metrics();
        let pending: u64 = m.workers().iter().map(|w| w.timers).sum();
        assert_eq!(pending, 0, "{driver}: the wheels end empty after resets");
        drop(rt);
        println!("{driver}: resets earlier, later and 1,000 in a row fired at the new deadline");
        assert_no_fd_leak(before, format_args!("{driver}: timer resets"));
    }
}

/// A's waker: when the wheel wakes A, it drops B (cancelling B's registration from inside
/// the wake) and then wakes the task.
struct DropOnWake {
    victims: Mutex<Vec<Sleep>>,
    task: Waker,
    woken: Arc<AtomicU64>,
}

impl Wake for DropOnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let victims = std::mem::take(&mut *self.victims.lock().unwrap());
        drop(victims);
        self.woken.fetch_add(1, Ordering::SeqCst);
        self.task.wake_by_ref();
    }
}

/// B's waker: must never be woken (B is dropped first or never due).
struct MustNotWake(Arc<AtomicU64>);

impl Wake for MustNotWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_sleep_dropped_from_another_timers_wake() {
    let _serial = serial();
    const PAIRS: usize = 100;
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let (a_woken, b_woken, late_woken) = rt
            .block_on(within("drop from wake", async {
                let mut tasks = Vec::new();
                for w in 0..2 {
                    tasks.push(
                        spawn_on(w, async {
                            let a_woken = Arc::new(AtomicU64::new(0));
                            let b_woken = Arc::new(AtomicU64::new(0));
                            let late_woken = Arc::new(AtomicU64::new(0));
                            let deadline = Instant::now() + Duration::from_millis(10);
                            let mut a_sleeps = Vec::new();
                            poll_fn(|cx| {
                                for _ in 0..PAIRS {
                                    // A: registered first, with the waker that drops B.
                                    let aw = Arc::new(DropOnWake {
                                        victims: Mutex::new(Vec::new()),
                                        task: cx.waker().clone(),
                                        woken: a_woken.clone(),
                                    });
                                    let mut a = hiver_runtime::sleep_until(deadline);
                                    let awk = Waker::from(aw.clone());
                                    assert!(Pin::new(&mut a)
                                        .poll(&mut Context::from_waker(&awk))
                                        .is_pending());
                                    // B: same deadline, registered after A with a waker
                                    // that counts; A's wake drops it.
                                    let mut b = hiver_runtime::sleep_until(deadline);
                                    let bw = Waker::from(Arc::new(MustNotWake(b_woken.clone())));
                                    assert!(Pin::new(&mut b)
                                        .poll(&mut Context::from_waker(&bw))
                                        .is_pending());
                                    // B2: due 20 ms later, still registered when A's
                                    // wake drops it (a cancel during the firing).
                                    let mut b2 = hiver_runtime::sleep_until(
                                        deadline + Duration::from_millis(20),
                                    );
                                    let lw = Waker::from(Arc::new(MustNotWake(late_woken.clone())));
                                    assert!(Pin::new(&mut b2)
                                        .poll(&mut Context::from_waker(&lw))
                                        .is_pending());
                                    aw.victims.lock().unwrap().extend([b, b2]);
                                    a_sleeps.push((a, awk));
                                }
                                Poll::Ready(())
                            })
                            .await;
                            // Wait until every A was woken (each wake drops its B).
                            poll_fn(|_cx| {
                                if a_woken.load(Ordering::SeqCst) >= PAIRS as u64 {
                                    Poll::Ready(())
                                } else {
                                    Poll::Pending
                                }
                            })
                            .await;
                            for (a, _) in &a_sleeps {
                                assert!(a.is_elapsed());
                            }
                            // Past the B2s' deadline: a dropped B2 that was left in the
                            // wheel would fire now (the sleep gives it the chance).
                            sleep(Duration::from_millis(40)).await;
                            (
                                a_woken.load(Ordering::SeqCst),
                                b_woken.load(Ordering::SeqCst),
                                late_woken.load(Ordering::SeqCst),
                            )
                        })
                        .unwrap(),
                    );
                }
                let (mut a, mut b, mut l) = (0, 0, 0);
                for t in tasks {
                    let (x, y, z) = t.await.expect("a drop-from-wake task");
                    a += x;
                    b += y;
                    l += z;
                }
                (a, b, l)
            }))
            .unwrap();
        assert!(a_woken >= 2 * PAIRS as u64, "{driver}: every A fired");
        // A B due in the same tick as its A had its waker collected with A's before any was
        // called (the wheel calls a tick's wakers after releasing itself, as tokio does): it
        // may get that one spurious wake after its drop, never more.
        assert!(
            b_woken <= 2 * PAIRS as u64,
            "{driver}: a same-tick B woke twice"
        );
        // A B2 still registered when A's wake dropped it was cancelled: it never wakes.
        assert_eq!(
            late_woken, 0,
            "{driver}: a sleep dropped from a wake still fired"
        );
        let pending: u64 = rt.metrics().workers().iter().map(|w| w.timers).sum();
        assert_eq!(pending, 0, "{driver}: the wheels end empty");
        drop(rt);
        println!(
            "{driver}: {} sleeps dropped from other timers' wakes: {b_woken} same-tick ones \
             woke once (collected before the drop), {late_woken} later ones woke",
            4 * PAIRS
        );
        assert_no_fd_leak(before, format_args!("{driver}: drop from wake"));
    }
}

#[test]
fn sub_millisecond_sleeps_never_complete_early() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        rt.block_on(within("sub-ms sleeps", async {
            for d in [
                Duration::from_nanos(1),
                Duration::from_micros(1),
                Duration::from_micros(999),
            ] {
                let t = std::time::Instant::now();
                sleep(d).await;
                assert!(
                    t.elapsed() >= d,
                    "sleep({d:?}) done after {:?}",
                    t.elapsed()
                );
            }
            let d = Duration::from_micros(100);
            for i in 0..1000 {
                let t = std::time::Instant::now();
                sleep(d).await;
                let took = t.elapsed();
                assert!(took >= d, "sleep(100 µs) #{i} done after {took:?}");
            }
        }))
        .unwrap();
        println!("{driver}: 1,000 sleeps of 100 µs, none early");
    }
}

/// This process's resident set from /proc/self/statm, in KiB.
fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf only reads a constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page / 1024
}

/// `count` timers, registered in batches of 1,000 live ones, then dropped unfired.
async fn storm(count: u64) {
    let mut n = 0;
    while n < count {
        let mut batch: Vec<Sleep> = (0..1000)
            .map(|i| sleep(Duration::from_millis(10_000 + (n + i) % 50_000)))
            .collect();
        poll_fn(|cx| {
            for s in &mut batch {
                assert!(Pin::new(s).poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        drop(batch);
        n += 1000;
        hiver_runtime::yield_now().await;
    }
}

#[test]
fn a_million_cancelled_timers_leave_empty_wheels_and_no_memory_growth() {
    let _serial = serial();
    let count = scaled(1_000_000, 200_000);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let run = |rt: &mut hiver_runtime::Runtime, count: u64| {
            rt.block_on(within("timer storm", async move {
                let a = spawn_on(0, storm(count / 2)).unwrap();
                let b = spawn_on(1, storm(count / 2)).unwrap();
                a.await.unwrap();
                b.await.unwrap();
            }))
            .unwrap();
            rt.metrics().workers().iter().map(|w| w.timers).sum::<u64>()
        };
        // Warm-up: the wheels' slots, the allocator's arenas and the queues reach their size.
        assert_eq!(
            run(&mut rt, count / 4),
            0,
            "{driver}: wheels empty after the warm-up"
        );
        let base = rss_kib();
        let _w = Watchdog::arm(format!("{driver}: {count} timers"), Duration::from_secs(60));
        let pending = run(&mut rt, count);
        let after = rss_kib();
        println!("{driver}: {count} timers created and dropped; RSS {base} KiB -> {after} KiB");
        assert_eq!(pending, 0, "{driver}: the wheels end empty");
        assert!(
            after <= base + 16 * 1024,
            "{driver}: RSS grew from {base} KiB to {after} KiB over {count} cancelled timers"
        );
        drop(rt);
        assert_no_fd_leak(before, format_args!("{driver}: timer storm"));
    }
}
