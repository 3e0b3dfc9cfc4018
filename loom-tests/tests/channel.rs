//! The channels: the production bounded and unbounded queues, waker slot and wait lists,
//! driven through the public API with `loom::future::block_on` on loom threads. A lost
//! wake-up shows as a deadlock (every thread parked), a lost or duplicated value as a
//! failed assertion, a missing happens-before on a slot as a causality violation.
//! Under loom an unbounded block holds 2 values, so 2 values already cross into a second
//! block (its push installs it; its pop frees the first).
//!
//! Each model keeps at most one thread that can spin waiting for another's operation (an
//! unbounded push waiting for the installer of the next block): with two spinners, loom
//! explores them yielding to each other forever while the thread they wait for never runs,
//! and fails for want of branches. Pops never spin, nor does the bounded queue.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_loom_tests::support::model;
use hiver_runtime::{bounded, Receiver, RecvError, SendError, Sender, TryRecvError};
use loom::future::block_on;
use loom::thread;

type Make = fn() -> (Sender<u32>, Receiver<u32>);

/// As `support::model`, with at most `bound` preemptions (the largest models: 3 threads
/// that all block and wake each other; at 2 they take minutes).
fn model_bounded(name: &str, bound: usize, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::AtomicUsize;
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let start = RUNS.load(Ordering::Relaxed);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.map_or(bound, |b| b.min(bound)));
    builder.check(move || {
        RUNS.fetch_add(1, Ordering::Relaxed);
        f();
    });
    println!(
        "loom model {name} (preemptions <= {bound}): {} interleavings",
        RUNS.load(Ordering::Relaxed) - start
    );
}

fn bounded_1() -> (Sender<u32>, Receiver<u32>) {
    bounded(1)
}

fn bounded_2() -> (Sender<u32>, Receiver<u32>) {
    bounded(2)
}

/// Two senders on their own threads against the receiver: both values arrive once, then
/// the channel reports closed.
fn senders_vs_receiver(name: &str, make: Make, per_sender: u32) {
    model(name, move || {
        let (tx, rx) = make();
        let senders: Vec<_> = (0..2u32)
            .map(|s| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..per_sender {
                        block_on(tx.send(s * 10 + i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut got = Vec::new();
        while let Ok(v) = block_on(rx.recv()) {
            got.push(v);
        }
        for s in senders {
            s.join().unwrap();
        }
        for s in 0..2 {
            let mine: Vec<u32> = got.iter().copied().filter(|v| v / 10 == s).collect();
            let sent: Vec<u32> = (0..per_sender).map(|i| s * 10 + i).collect();
            assert_eq!(mine, sent, "lost, duplicated or reordered: {got:?}");
        }
    });
}

#[test]
fn two_senders_vs_receiver_bounded_1() {
    senders_vs_receiver("channel: 2 senders x 1 vs recv, bounded(1)", bounded_1, 1);
}

#[test]
fn two_senders_vs_receiver_bounded_2() {
    senders_vs_receiver("channel: 2 senders x 1 vs recv, bounded(2)", bounded_2, 1);
}

fn unbounded() -> (Sender<u32>, Receiver<u32>) {
    hiver_runtime::unbounded()
}

#[test]
fn two_senders_vs_receiver_unbounded_across_a_block() {
    // The second value takes the first block's last slot: its push installs the next
    // block, and its pop moves the head there and frees the first.
    senders_vs_receiver("channel: 2 senders x 1 vs recv, unbounded", unbounded, 1);
}

#[test]
fn one_sender_vs_receiver_unbounded_three_values() {
    model("channel: 1 sender x 3 vs recv, unbounded", || {
        let (tx, rx) = unbounded();
        let sender = thread::spawn(move || {
            for i in 0..3 {
                block_on(tx.send(i)).unwrap();
            }
        });
        for i in 0..3 {
            assert_eq!(block_on(rx.recv()), Ok(i));
        }
        assert_eq!(block_on(rx.recv()), Err(RecvError));
        sender.join().unwrap();
    });
}

#[test]
fn two_senders_blocked_on_a_full_channel() {
    // One waits in the lock-free slot, the other in the list behind it (or they swap
    // roles as they are woken): both values arrive, in per-sender order after the first.
    model_bounded(
        "channel: 2 blocked senders vs recv, bounded(1) prefilled",
        1,
        || {
            let (tx, rx) = bounded::<u32>(1);
            tx.try_send(0).unwrap();
            let senders: Vec<_> = (1..=2u32)
                .map(|v| {
                    let tx = tx.clone();
                    thread::spawn(move || block_on(tx.send(v)).unwrap())
                })
                .collect();
            drop(tx);
            assert_eq!(block_on(rx.recv()), Ok(0));
            let mut got = vec![block_on(rx.recv()).unwrap(), block_on(rx.recv()).unwrap()];
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
            for s in senders {
                s.join().unwrap();
            }
            assert_eq!(block_on(rx.recv()), Err(RecvError));
        },
    );
}

#[test]
fn full_channel_wakeup_handshake() {
    model("channel: bounded(1), sender blocks on full vs recv", || {
        let (tx, rx) = bounded::<u32>(1);
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Ok(1));
        assert_eq!(block_on(rx.recv()), Ok(2));
        sender.join().unwrap();
        assert_eq!(block_on(rx.recv()), Err(RecvError));
    });
}

#[test]
fn close_racing_a_blocked_send() {
    model("channel: close vs blocked send, bounded(1)", || {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(1).unwrap();
        let sender = thread::spawn(move || block_on(tx.send(2)));
        rx.close();
        assert_eq!(
            sender.join().unwrap(),
            Err(SendError(2)),
            "woken, value back"
        );
        assert_eq!(rx.try_recv(), Ok(1), "buffered values stay receivable");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn receiver_drop_racing_sends() {
    model("channel: receiver drop vs 2 sends, bounded(1)", || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Counted>(1);
        let senders: Vec<_> = (0..2)
            .map(|_| {
                let (tx, drops) = (tx.clone(), drops.clone());
                thread::spawn(move || match block_on(tx.send(Counted(drops))) {
                    Ok(()) => 0,
                    Err(SendError(back)) => {
                        drop(back);
                        1
                    }
                })
            })
            .collect();
        drop(tx);
        drop(rx);
        let handed_back: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
        assert!(
            handed_back >= 1,
            "at most one fits; the other is handed back"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 2, "each value dropped once");
    });
}

fn last_sender_drop_vs_parking(name: &str, make: Make, send_first: bool) {
    model(name, move || {
        let (tx, rx) = make();
        let sender = thread::spawn(move || {
            if send_first {
                block_on(tx.send(7)).unwrap();
            }
            drop(tx);
        });
        if send_first {
            assert_eq!(block_on(rx.recv()), Ok(7));
        }
        assert_eq!(
            block_on(rx.recv()),
            Err(RecvError),
            "woken by the last drop"
        );
        sender.join().unwrap();
    });
}

#[test]
fn last_sender_drop_vs_receiver_parking() {
    last_sender_drop_vs_parking(
        "channel: last sender drop vs recv, bounded(1)",
        bounded_1,
        false,
    );
    last_sender_drop_vs_parking(
        "channel: send then last sender drop vs recv, bounded(1)",
        bounded_1,
        true,
    );
    last_sender_drop_vs_parking(
        "channel: send then last sender drop vs recv, unbounded",
        unbounded,
        true,
    );
}

#[test]
fn two_receivers_at_once() {
    model("channel: 2 receiving threads vs 2 sends, unbounded", || {
        let (tx, rx) = unbounded();
        let rx = Arc::new(rx);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || block_on(rx.recv()).unwrap())
            })
            .collect();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let mut got: Vec<u32> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each value to exactly one receiver");
    });
}
