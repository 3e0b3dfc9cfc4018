//! Closing: recv fails only when every sender is gone and the buffer is empty; the
//! receiver's `close` and drop make sends fail with the value handed back and wake the
//! senders waiting for space (RELIABILITY.md cases 30 and 31).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::{bounded, spawn, spawn_on, unbounded, RecvError, SendError, TrySendError};

use super::support::{drivers, runtime, watchdog, yield_now};

#[test]
fn recv_errs_only_once_every_sender_is_gone_and_the_buffer_is_empty() {
    let mut rt = hiver_runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (tx, rx) = bounded(8);
        let (tx2, tx3) = (tx.clone(), tx.clone());
        tx.send(1).await.unwrap();
        drop(tx);
        tx2.send(2).await.unwrap();
        drop(tx2);
        assert!(!rx.is_closed(), "one sender is left");
        assert_eq!(rx.recv().await, Ok(1));
        tx3.send(3).await.unwrap();
        drop(tx3);
        assert!(rx.is_closed());
        assert_eq!(rx.recv().await, Ok(2), "buffered values come first");
        assert_eq!(rx.recv().await, Ok(3));
        assert_eq!(rx.recv().await, Err(RecvError));
        assert_eq!(rx.recv().await, Err(RecvError), "and for good");
    })
    .unwrap();
}

#[test]
fn a_waiting_receiver_wakes_when_the_last_sender_goes() {
    watchdog("last-sender", || {
        for d in drivers() {
            let mut rt = runtime(d, 2);
            rt.block_on(async {
                for flavour in 0..2 {
                    let (tx, rx) = if flavour == 0 {
                        bounded(4)
                    } else {
                        unbounded()
                    };
                    let tx2 = tx.clone();
                    // The senders run on the workers while the receiver waits here.
                    spawn_on(0, async move {
                        yield_now().await;
                        tx.send(10).await.unwrap();
                    })
                    .unwrap();
                    spawn_on(1, async move {
                        yield_now().await;
                        tx2.send(20).await.unwrap();
                    })
                    .unwrap();
                    let mut got = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
                    got.sort_unstable();
                    assert_eq!(got, [10, 20]);
                    assert_eq!(rx.recv().await, Err(RecvError), "woken by the last drop");
                }
            })
            .unwrap();
        }
    });
}

#[test]
fn dropping_the_receiver_wakes_blocked_senders_with_their_values() {
    const BLOCKED: u64 = 16;
    watchdog("receiver-drop", || {
        for d in drivers() {
            let mut rt = runtime(d, 2);
            rt.block_on(async {
                let (tx, rx) = bounded(1);
                tx.send(u64::MAX).await.unwrap();
                let started = Arc::new(AtomicUsize::new(0));
                let handles: Vec<_> = (0..BLOCKED)
                    .map(|i| {
                        let (tx, started) = (tx.clone(), started.clone());
                        spawn(async move {
                            started.fetch_add(1, Ordering::SeqCst);
                            tx.send(i).await
                        })
                    })
                    .collect();
                while started.load(Ordering::SeqCst) < BLOCKED as usize {
                    yield_now().await;
                }
                for _ in 0..100 {
                    yield_now().await;
                }
                assert_eq!(rx.len(), 1, "the blocked sends did not get in");
                drop(rx);
                let mut back = Vec::new();
                for h in handles {
                    match h.await.unwrap() {
                        Err(SendError(v)) => back.push(v),
                        Ok(()) => panic!("a send succeeded into a full, dropped channel"),
                    }
                }
                back.sort_unstable();
                assert_eq!(
                    back,
                    (0..BLOCKED).collect::<Vec<_>>(),
                    "every value handed back"
                );
                assert_eq!(
                    tx.send(99).await,
                    Err(SendError(99)),
                    "future sends fail too"
                );
            })
            .unwrap();
        }
    });
}

#[test]
fn close_stops_sends_but_keeps_the_buffer_receivable() {
    let mut rt = runtime(drivers()[0], 2);
    rt.block_on(async {
        let (tx, rx) = bounded(2);
        tx.send('a').await.unwrap();
        tx.send('b').await.unwrap();
        let blocked = {
            let tx = tx.clone();
            spawn(async move { tx.send('c').await })
        };
        for _ in 0..50 {
            yield_now().await;
        }
        rx.close();
        assert!(tx.is_closed() && rx.is_closed());
        assert_eq!(
            blocked.await.unwrap(),
            Err(SendError('c')),
            "woken, value back"
        );
        assert_eq!(tx.try_send('d'), Err(TrySendError::Closed('d')));
        assert_eq!(rx.recv().await, Ok('a'));
        assert_eq!(rx.recv().await, Ok('b'));
        assert_eq!(rx.recv().await, Err(RecvError));
    })
    .unwrap();
}
