//! The task state machine: wakes racing a run, join handles racing completion, aborts,
//! and wakers dropped on other threads. Each future and each output is dropped exactly
//! once, and the task is polled again iff it was woken.
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use hiver_loom_tests::support::model;
use hiver_runtime::__loom::{spawn, JoinHandle, Owned, TestQueue};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Mutex;
use loom::thread;

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending until `open`; stores its waker for another thread.
#[derive(Default)]
struct Gate {
    open: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

fn gated(gate: Arc<Gate>, drops: Arc<AtomicUsize>) -> impl Future<Output = Counted> {
    let guard = Counted(drops.clone());
    std::future::poll_fn(move |cx| {
        let _keep = &guard;
        if gate.open.load(Ordering::SeqCst) == 1 {
            return Poll::Ready(Counted(drops.clone()));
        }
        *gate.waker.lock().unwrap() = Some(cx.waker().clone());
        // Re-check after publishing the waker (the opener may have missed it).
        if gate.open.load(Ordering::SeqCst) == 1 {
            return Poll::Ready(Counted(drops.clone()));
        }
        Poll::Pending
    })
}

fn open(gate: &Gate) {
    gate.open.store(1, Ordering::SeqCst);
    let w = gate.waker.lock().unwrap().take();
    if let Some(w) = w {
        w.wake();
    }
}

fn poll_join<T>(h: &mut JoinHandle<T>) -> Poll<Result<T, hiver_runtime::__loom::JoinError>> {
    Pin::new(h).poll(&mut Context::from_waker(Waker::noop()))
}

/// Runs the queue until empty, as the owner worker.
fn drain(q: &TestQueue, owned: &mut Owned) -> usize {
    let mut runs = 0;
    while let Some(t) = q.pop() {
        owned.run(t);
        runs += 1;
    }
    runs
}

#[test]
fn wake_while_running_and_handle_dropped_concurrently() {
    model("task: run vs remote wake vs handle drop", || {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Arc::new(TestQueue::default());
        let gate = Arc::new(Gate::default());
        let (t, h) = spawn(q.clone(), gated(gate.clone(), drops.clone()));
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || open(&gate))
        };
        let dropper = thread::spawn(move || drop(h));
        let mut owned = Owned::new();
        owned.run(t);
        opener.join().unwrap();
        dropper.join().unwrap();
        drain(&q, &mut owned);
        // The future (with its guard) and the output were each dropped exactly once.
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(q.is_empty());
    });
}

#[test]
fn handle_reads_output_racing_completion() {
    model("task: completion vs join handle poll", || {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Arc::new(TestQueue::default());
        let gate = Arc::new(Gate::default());
        let (t, mut h) = spawn(q.clone(), gated(gate.clone(), drops.clone()));
        let mut owned = Owned::new();
        owned.run(t);
        let reader = thread::spawn(move || {
            let mut got = 0;
            if let Poll::Ready(r) = poll_join(&mut h) {
                drop(r.unwrap());
                got = 1;
            }
            drop(h);
            got
        });
        open(&gate);
        drain(&q, &mut owned);
        reader.join().unwrap();
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "future guard + output, once each"
        );
    });
}

#[test]
fn abort_racing_a_wake() {
    model("task: abort vs wake", || {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Arc::new(TestQueue::default());
        let gate = Arc::new(Gate::default());
        let (t, mut h) = spawn(q.clone(), gated(gate.clone(), drops.clone()));
        let mut owned = Owned::new();
        owned.run(t);
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || open(&gate))
        };
        h.abort();
        opener.join().unwrap();
        drain(&q, &mut owned);
        match poll_join(&mut h) {
            // Either the wake won and the task completed, or the abort won.
            Poll::Ready(Ok(out)) => drop(out),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => panic!("the task neither completed nor was cancelled"),
        }
        drop(h);
        let d = drops.load(Ordering::SeqCst);
        assert!(
            d == 1 || d == 2,
            "future dropped once, output at most once: {d}"
        );
    });
}

#[test]
fn waker_dropped_on_another_thread_after_shutdown() {
    model("task: foreign waker vs shutdown", || {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Arc::new(TestQueue::default());
        let gate = Arc::new(Gate::default());
        let (t, h) = spawn(q.clone(), gated(gate.clone(), drops.clone()));
        drop(h);
        let mut owned = Owned::new();
        owned.run(t);
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || open(&gate))
        };
        owned.shutdown();
        opener.join().unwrap();
        // A wake that lost to the shutdown schedules nothing that runs the future again.
        drain(&q, &mut owned);
        let d = drops.load(Ordering::SeqCst);
        assert!(
            d == 1 || d == 2,
            "future once; output only if the wake won: {d}"
        );
    });
}
