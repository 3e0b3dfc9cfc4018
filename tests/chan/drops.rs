//! Every value is dropped exactly once: received, handed back, left in the buffer when
//! the channel dies, or dropped with the receiver, including when one value's `Drop`
//! panics (RELIABILITY.md case 31).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use hiver_runtime::{bounded, unbounded, Receiver, Sender};

use super::support::{count, Counted};

type Make = fn() -> (Sender<Counted>, Receiver<Counted>);

fn flavours() -> Vec<(&'static str, Make)> {
    vec![
        ("bounded(8)", || bounded(8)),
        ("bounded(1000)", || bounded(1000)),
        ("unbounded", unbounded),
    ]
}

#[test]
fn values_left_in_the_buffer_die_with_the_channel_once() {
    for (name, make) in flavours() {
        for receiver_first in [false, true] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = make();
            let n = tx.capacity().unwrap_or(200).min(200) as u64;
            for i in 0..n {
                tx.try_send(Counted::new(i, &drops)).ok().unwrap();
            }
            for i in 0..3 {
                assert_eq!(rx.try_recv().unwrap().id, i);
            }
            assert_eq!(
                count(&drops),
                3,
                "{name}: received values dropped by their owner"
            );
            if receiver_first {
                drop(rx);
                assert_eq!(
                    count(&drops),
                    n as usize,
                    "{name}: the receiver drops the rest"
                );
                drop(tx);
            } else {
                drop(tx);
                assert_eq!(count(&drops), 3, "{name}: still receivable");
                drop(rx);
            }
            assert_eq!(count(&drops), n as usize, "{name}: each value once");
        }
    }
}

#[test]
fn a_value_handed_back_is_dropped_by_its_new_owner_only() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded(1);
    drop(rx);
    let back = tx
        .try_send(Counted::new(7, &drops))
        .unwrap_err()
        .into_inner();
    assert_eq!((back.id, count(&drops)), (7, 0));
    drop(back);
    assert_eq!(count(&drops), 1);
}

/// Fills a channel with three values, the middle one panicking in `Drop`.
fn three_with_a_panicker(
    make: Make,
    drops: &Arc<AtomicUsize>,
) -> (Sender<Counted>, Receiver<Counted>) {
    let (tx, rx) = make();
    tx.try_send(Counted::new(0, drops)).ok().unwrap();
    tx.try_send(Counted::panicking(1, drops)).ok().unwrap();
    tx.try_send(Counted::new(2, drops)).ok().unwrap();
    (tx, rx)
}

#[test]
fn a_panicking_drop_in_the_buffer_neither_leaks_nor_double_drops() {
    for (name, make) in flavours() {
        // The channel dies with the receiver (the senders went first).
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = three_with_a_panicker(make, &drops);
        drop(tx);
        let r = catch_unwind(AssertUnwindSafe(move || drop(rx)));
        assert!(r.is_err(), "{name}: the panic comes out of the drop");
        assert_eq!(count(&drops), 3, "{name}: all three dropped once");

        // The receiver goes first and panics while dropping the buffer; the value after
        // the panicking one dies with the channel, when the last sender goes.
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = three_with_a_panicker(make, &drops);
        let r = catch_unwind(AssertUnwindSafe(move || drop(rx)));
        assert!(r.is_err(), "{name}");
        assert!(
            tx.is_closed(),
            "{name}: closed even though its drop panicked"
        );
        drop(tx);
        assert_eq!(count(&drops), 3, "{name}: all three dropped once");
    }
}

/// crossbeam's `drops` test, smaller: random sends and receives, then the channel is
/// dropped with whatever is left; every value is dropped exactly once.
#[test]
fn random_steps_then_drop_count_exactly() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for run in 0..100 {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = match run % 3 {
            0 => bounded(1 + rand(50) as usize),
            1 => bounded(1),
            _ => unbounded(),
        };
        let (mut sent, mut received) = (0usize, 0usize);
        for _ in 0..1_000 {
            if rand(2) == 0 {
                if tx.try_send(Counted::new(0, &drops)).is_ok() {
                    sent += 1;
                }
            } else if rx.try_recv().is_ok() {
                received += 1;
            }
        }
        let rejected = count(&drops) - received;
        assert_eq!(rx.len(), sent - received, "run {run}");
        if rand(2) == 0 {
            drop(tx);
            drop(rx);
        } else {
            drop(rx);
            drop(tx);
        }
        assert_eq!(
            count(&drops),
            sent + rejected,
            "run {run}: each value dropped once"
        );
    }
}
