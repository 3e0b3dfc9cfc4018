//! Task state machine and allocation, driven by hand with a test scheduler: no runtime,
//! no syscalls (these run under miri too).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::{allocate, JoinHandle, Notified, Schedule};

#[derive(Default)]
struct Queue(Mutex<VecDeque<Notified>>);

impl Schedule for Queue {
    fn schedule(&self, task: Notified) {
        self.0.lock().unwrap().push_back(task);
    }
}

impl Queue {
    fn pop(&self) -> Option<Notified> {
        self.0.lock().unwrap().pop_front()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn spawn<F: Future + 'static>(q: &Arc<Queue>, f: F) -> (Notified, JoinHandle<F::Output>) {
    allocate(f, q.clone(), 1)
}

/// Runs a task as its owner would: claims the owner's reference on first receipt and
/// releases it when the task finishes.
fn run(slot: &mut Option<super::OwnedTask>, t: Notified) -> bool {
    if let Some(o) = t.claim_owned() {
        *slot = Some(o);
    }
    let done = t.run();
    if done {
        slot.take();
    }
    done
}

fn poll_join<T>(h: &mut JoinHandle<T>) -> Poll<Result<T, super::JoinError>> {
    Pin::new(h).poll(&mut Context::from_waker(Waker::noop()))
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Gate {
    open: std::sync::atomic::AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
    fn wait(self: Arc<Self>) -> impl Future<Output = ()> {
        std::future::poll_fn(move |cx| {
            if self.open.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                *self.waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

#[test]
fn completes_and_hands_out_its_output_once() {
    let q = Arc::new(Queue::default());
    let (t, mut h) = spawn(&q, async { 5 });
    assert!(poll_join(&mut h).is_pending());
    let mut owned = None;
    assert!(run(&mut owned, t));
    assert!(h.is_finished());
    assert_eq!(poll_join(&mut h).map(Result::unwrap), Poll::Ready(5));
}

#[test]
fn wake_from_outside_reschedules_exactly_once() {
    let q = Arc::new(Queue::default());
    let gate = Arc::new(Gate::default());
    let (t, mut h) = spawn(&q, gate.clone().wait());
    let mut owned = None;
    assert!(!run(&mut owned, t));
    assert_eq!(q.len(), 0);
    gate.open();
    assert_eq!(q.len(), 1, "one wake, one schedule");
    assert!(run(&mut owned, q.pop().unwrap()));
    assert!(poll_join(&mut h).is_ready());
}

#[test]
fn wake_while_running_requeues_and_many_wakes_schedule_once() {
    let q = Arc::new(Queue::default());
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let (t, _h) = spawn(
        &q,
        std::future::poll_fn(move |cx| {
            if p.fetch_add(1, Ordering::SeqCst) < 2 {
                for _ in 0..1000 {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }),
    );
    let mut owned = None;
    assert!(!run(&mut owned, t));
    assert_eq!(q.len(), 1);
    assert!(!run(&mut owned, q.pop().unwrap()));
    assert_eq!(q.len(), 1);
    assert!(run(&mut owned, q.pop().unwrap()));
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

#[test]
fn dropped_handle_before_completion_drops_output_on_completion() {
    let q = Arc::new(Queue::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let (t, h) = spawn(&q, async move { Counted(d) });
    drop(h);
    let mut owned = None;
    assert!(run(&mut owned, t));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn dropped_handle_after_completion_drops_output() {
    let q = Arc::new(Queue::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let (t, h) = spawn(&q, async move { Counted(d) });
    let mut owned = None;
    assert!(run(&mut owned, t));
    assert_eq!(drops.load(Ordering::SeqCst), 0, "kept for the handle");
    drop(h);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn abort_of_an_idle_task_schedules_its_cancellation() {
    let q = Arc::new(Queue::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let c = Counted(drops.clone());
    let (t, mut h) = spawn(&q, async move {
        let _c = c;
        std::future::pending::<()>().await
    });
    let mut owned = None;
    assert!(!run(&mut owned, t));
    h.abort();
    h.abort();
    assert_eq!(q.len(), 1);
    assert!(run(&mut owned, q.pop().unwrap()));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    match poll_join(&mut h) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        _ => panic!("expected a cancellation"),
    }
}

#[test]
fn a_panic_is_caught_and_reported() {
    let q = Arc::new(Queue::default());
    let (t, mut h) = spawn(&q, async { panic!("inside") });
    let mut owned = None;
    assert!(run(&mut owned, t));
    match poll_join(&mut h) {
        Poll::Ready(Err(e)) => assert_eq!(*e.into_panic().downcast::<&str>().unwrap(), "inside"),
        _ => panic!("expected a panic"),
    }
}

#[test]
fn an_undelivered_task_is_cancelled_when_dropped() {
    let q = Arc::new(Queue::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let c = Counted(drops.clone());
    let (t, mut h) = spawn(&q, async move {
        let _c = c;
    });
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(matches!(poll_join(&mut h), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn shutdown_cancels_an_owned_idle_task_and_late_wakes_are_harmless() {
    let q = Arc::new(Queue::default());
    let gate = Arc::new(Gate::default());
    let (t, mut h) = spawn(&q, gate.clone().wait());
    let mut owned = None;
    assert!(!run(&mut owned, t));
    let o = owned.take().unwrap();
    o.shutdown();
    drop(o);
    gate.open(); // wakes a completed task: nothing is scheduled
    assert_eq!(q.len(), 0);
    assert!(matches!(poll_join(&mut h), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn waker_outliving_everything_frees_the_task_last() {
    let q = Arc::new(Queue::default());
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    let s = stash.clone();
    let (t, h) = spawn(
        &q,
        std::future::poll_fn(move |cx| {
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        }),
    );
    drop(h);
    let mut owned = None;
    assert!(run(&mut owned, t));
    let w = stash.lock().unwrap().take().unwrap();
    let w2 = w.clone();
    w.wake(); // completed: no schedule, releases one reference
    assert_eq!(q.len(), 0);
    drop(w2); // the last reference: frees the task (miri checks it)
}
