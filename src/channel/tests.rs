//! The channel's futures driven by hand (no runtime, no syscalls), so that miri checks the
//! whole send/recv/close path; the runtime-level tests are in `tests/chan/`.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use super::{bounded, unbounded, RecvError, SendError};

/// A waker that counts its wakes and unparks a thread.
struct Flag {
    wakes: AtomicUsize,
    thread: Thread,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn flag() -> (Arc<Flag>, Waker) {
    let f = Arc::new(Flag {
        wakes: AtomicUsize::new(0),
        thread: std::thread::current(),
    });
    (f.clone(), Waker::from(f))
}

fn wakes(f: &Flag) -> usize {
    f.wakes.load(Ordering::SeqCst)
}

/// Runs `fut` to completion on this thread, parking while it is pending.
fn block_on<F: Future>(fut: F) -> F::Output {
    let (_, waker) = flag();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn a_full_channel_makes_send_wait_until_a_recv() {
    let (tx, rx) = bounded(1);
    tx.try_send(1).unwrap();
    let (f, waker) = flag();
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(tx.send(2));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(wakes(&f), 1, "the recv woke the sender");
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_cancelled_send_frees_nothing_and_passes_its_wake_on() {
    let (tx, rx) = bounded(1);
    tx.try_send(0).unwrap();
    let (fa, wa) = flag();
    let (fb, wb) = flag();
    let mut a = Box::pin(tx.send(1));
    let mut b = pin!(tx.send(2));
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(
        (wakes(&fa), wakes(&fb)),
        (1, 0),
        "the first waiter is woken"
    );
    drop(a);
    assert_eq!(wakes(&fb), 1, "a's wake went to b");
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_ready());
    assert_eq!(rx.try_recv(), Ok(2), "1 was never enqueued");
    assert!(rx.try_recv().is_err());
    tx.try_send(3).unwrap();
    assert_eq!(rx.len(), 1, "no slot leaked");
}

#[test]
fn closing_wakes_waiters_on_both_sides() {
    let (tx, rx) = bounded::<u8>(1);
    tx.try_send(0).unwrap();
    let (f, waker) = flag();
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(tx.send(5));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    drop(rx);
    assert_eq!(wakes(&f), 1);
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Err(SendError(5))));

    let (tx, rx) = unbounded::<u8>();
    let mut recv = pin!(rx.recv());
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    drop(tx);
    assert_eq!(wakes(&f), 2);
    assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Err(RecvError)));
}

#[test]
fn two_pending_receivers_each_get_one_value() {
    let (tx, rx) = unbounded();
    let (fa, wa) = flag();
    let (fb, wb) = flag();
    let mut a = pin!(rx.recv());
    let mut b = pin!(rx.recv());
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!((wakes(&fa), wakes(&fb)), (1, 1));
    let ra = a.as_mut().poll(&mut Context::from_waker(&wa));
    let rb = b.as_mut().poll(&mut Context::from_waker(&wb));
    assert_eq!((ra, rb), (Poll::Ready(Ok(1)), Poll::Ready(Ok(2))));
}

#[test]
fn threads_send_and_receive_everything_in_order() {
    let per: u64 = if cfg!(miri) { 30 } else { 3_000 };
    for cap in [Some(1), Some(3), None] {
        let (tx, rx) = match cap {
            Some(n) => bounded(n),
            None => unbounded(),
        };
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        block_on(tx.send(p << 32 | i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u64; 2];
        while let Ok(v) = block_on(rx.recv()) {
            let p = (v >> 32) as usize;
            assert_eq!(v & 0xffff_ffff, next[p], "FIFO per producer ({cap:?})");
            next[p] += 1;
        }
        assert_eq!(next, [per, per], "nothing lost ({cap:?})");
        producers.into_iter().for_each(|p| p.join().unwrap());
    }
}
