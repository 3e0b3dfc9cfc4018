//! Cancellation: a send dropped while waiting for space loses nothing and holds no slot;
//! a `recv` polled once and dropped (as in a `select`) loses no value, and neither does a
//! loop of `select_two(rx1.recv(), rx2.recv())` (RELIABILITY.md case 32: 1,000,000
//! messages in release, 300,000 in debug; every driver).

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::select::SelectTwoOutput;
use hiver_runtime::{bounded, select_two, spawn, spawn_on, unbounded, Runtime};

use super::support::{count, drivers, poll_once, runtime, watchdog, yield_now, Counted};

#[test]
fn a_cancelled_blocked_send_loses_nothing_and_leaks_no_slot() {
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded(1);
        tx.send(Counted::new(1, &drops)).await.ok().unwrap();
        {
            let mut send = pin!(tx.send(Counted::new(2, &drops)));
            assert!(poll_once(send.as_mut()).await.is_none(), "full: it waits");
        } // dropped while waiting: its value goes with it, never enqueued
        assert_eq!(count(&drops), 1);
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.recv().await.unwrap().id, 1);
        // The one slot is free again.
        tx.try_send(Counted::new(3, &drops)).ok().unwrap();
        assert_eq!(rx.recv().await.unwrap().id, 3);
        assert!(rx.try_recv().is_err(), "2 was never sent");
        assert_eq!(count(&drops), 3);
    })
    .unwrap();
}

#[test]
fn an_aborted_sender_task_frees_its_turn_for_the_others() {
    watchdog("aborted-sender", || {
        let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
        rt.block_on(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = bounded(1);
            tx.send(Counted::new(0, &drops)).await.ok().unwrap();
            let started = Arc::new(AtomicUsize::new(0));
            let blocked: Vec<_> = (1..=3)
                .map(|i| {
                    let (tx, d, started) = (tx.clone(), drops.clone(), started.clone());
                    spawn(async move {
                        let v = Counted::new(i, &d);
                        started.fetch_add(1, Ordering::SeqCst);
                        tx.send(v).await.is_ok()
                    })
                })
                .collect();
            while started.load(Ordering::SeqCst) < 3 {
                yield_now().await;
            }
            for _ in 0..50 {
                yield_now().await;
            }
            // Abort the first blocked sender: whichever waiter it was (first in line or
            // already woken), the other two must still get through.
            blocked[0].abort();
            let mut ids = vec![rx.recv().await.unwrap().id];
            let mut rest = blocked.into_iter();
            assert!(rest.next().unwrap().await.unwrap_err().is_cancelled());
            for h in rest {
                ids.push(rx.recv().await.unwrap().id);
                drop(h);
            }
            drop(tx);
            while let Ok(v) = rx.recv().await {
                ids.push(v.id);
            }
            ids.sort_unstable();
            assert_eq!(ids, [0, 2, 3], "1 was cancelled before it got in");
            assert_eq!(count(&drops), 4, "each value dropped once");
        })
        .unwrap();
    });
}

#[test]
fn a_recv_polled_once_and_dropped_loses_no_value() {
    // Per channel (two channels).
    const N: u64 = if cfg!(debug_assertions) {
        20_000
    } else {
        500_000
    };
    for d in drivers() {
        watchdog("select-recv", move || {
            let mut rt = runtime(d, 2);
            let got = rt
                .block_on(async {
                    let (rx, rx2) = two_producers(N);
                    // What a select over two `recv`s does: poll each once, keep the one
                    // that is ready, drop the other.
                    let mut got = [Vec::new(), Vec::new()];
                    let mut open = [true, true];
                    while open[0] || open[1] {
                        for (k, rx) in [&rx, &rx2].into_iter().enumerate() {
                            if !open[k] {
                                continue;
                            }
                            match poll_once(pin!(rx.recv())).await {
                                Some(Ok(v)) => got[k].push(v),
                                Some(Err(_)) => open[k] = false,
                                None => {}
                            }
                        }
                        yield_now().await;
                    }
                    got
                })
                .unwrap();
            let all: Vec<u64> = (0..N).collect();
            assert_eq!(got[0], all, "{d}: bounded, in order, none lost");
            assert_eq!(got[1], all, "{d}: unbounded, in order, none lost");
        });
    }
}

#[test]
fn select_two_over_two_receivers_loses_no_message() {
    // Per channel: 1,000,000 messages in all in release.
    const N: u64 = if cfg!(debug_assertions) {
        150_000
    } else {
        500_000
    };
    for d in drivers() {
        watchdog("select-two-recv", move || {
            let mut rt = runtime(d, 2);
            let started = std::time::Instant::now();
            let (got, firsts) = rt
                .block_on(async {
                    let (rx1, rx2) = two_producers(N);
                    let mut got = [
                        Vec::with_capacity(N as usize),
                        Vec::with_capacity(N as usize),
                    ];
                    let mut open = [true, true];
                    let mut firsts = 0u64;
                    // Bounded: each turn takes a message or closes a channel.
                    for _ in 0..=2 * N + 2 {
                        match open {
                            [true, true] => match select_two(rx1.recv(), rx2.recv()).await {
                                SelectTwoOutput::First(Ok(v)) => {
                                    firsts += 1;
                                    got[0].push(v)
                                }
                                SelectTwoOutput::First(Err(_)) => open[0] = false,
                                SelectTwoOutput::Second(Ok(v)) => got[1].push(v),
                                SelectTwoOutput::Second(Err(_)) => open[1] = false,
                            },
                            [true, false] => match rx1.recv().await {
                                Ok(v) => got[0].push(v),
                                Err(_) => open[0] = false,
                            },
                            [false, true] => match rx2.recv().await {
                                Ok(v) => got[1].push(v),
                                Err(_) => open[1] = false,
                            },
                            [false, false] => break,
                        }
                    }
                    (got, firsts)
                })
                .unwrap();
            println!(
                "{d}: {} messages through select_two in {:?} ({firsts} from the first receiver \
                 while both were open)",
                got[0].len() + got[1].len(),
                started.elapsed()
            );
            let all: Vec<u64> = (0..N).collect();
            assert!(
                got[0] == all,
                "{d}: bounded: {} received, in order, none lost",
                got[0].len()
            );
            assert!(
                got[1] == all,
                "{d}: unbounded: {} received, in order, none lost",
                got[1].len()
            );
        });
    }
}

/// Two channels, a `bounded(4)` fed from worker 0 and an `unbounded` fed from worker 1,
/// each carrying `0..n` in order; the senders drop (closing them) when done.
fn two_producers(n: u64) -> (hiver_runtime::Receiver<u64>, hiver_runtime::Receiver<u64>) {
    let (tx, rx) = bounded(4);
    let (tx2, rx2) = unbounded();
    spawn_on(0, async move {
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
    })
    .unwrap();
    spawn_on(1, async move {
        for i in 0..n {
            tx2.send(i).await.unwrap();
        }
    })
    .unwrap();
    (rx, rx2)
}
