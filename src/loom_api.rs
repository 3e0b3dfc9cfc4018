//! Internals exposed to `loom-tests/` under `--cfg loom` only: the production inbox, park
//! handshake and task state machine, driven by hand.
#![allow(missing_docs, unreachable_pub)]

use std::collections::VecDeque;
use std::future::Future;

use crate::task::{self, Notified, OwnedTask, Schedule};

pub use crate::task::{JoinError, JoinHandle};

/// A scheduler that queues woken tasks for the model to run.
#[derive(Default)]
pub struct TestQueue(loom::sync::Mutex<VecDeque<Notified>>);

impl Schedule for TestQueue {
    fn schedule(&self, task: Notified) {
        self.0.lock().unwrap().push_back(task);
    }
}

impl TestQueue {
    pub fn pop(&self) -> Option<Task> {
        self.0.lock().unwrap().pop_front().map(Task)
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A scheduled task (a `Notified` reference).
pub struct Task(Notified);

/// The owner's reference, kept while the task is unfinished.
pub struct Owned(Option<OwnedTask>);

impl Owned {
    pub fn new() -> Owned {
        Owned(None)
    }

    /// Runs `task` as its owner: claims the owner's reference on first receipt, releases
    /// it when the task finishes. `true` when it finished.
    pub fn run(&mut self, task: Task) -> bool {
        if let Some(o) = task.0.claim_owned() {
            self.0 = Some(o);
        }
        let done = task.0.run();
        if done {
            self.0 = None;
        }
        done
    }

    /// Shutdown: cancels the task if it is idle, and drops the owner's reference.
    pub fn shutdown(&mut self) {
        if let Some(o) = self.0.take() {
            o.shutdown();
        }
    }
}

impl Default for Owned {
    fn default() -> Self {
        Owned::new()
    }
}

/// Allocates a task scheduled on `queue`; returns its first `Notified` and its handle.
pub fn spawn<F: Future + 'static>(
    queue: std::sync::Arc<TestQueue>,
    f: F,
) -> (Task, JoinHandle<F::Output>) {
    let (n, h) = task::allocate(f, queue, 0);
    (Task(n), h)
}

/// The production inbox, over `Task`s.
pub struct Inbox(crate::sched::inbox::Inbox);

impl Inbox {
    pub fn new() -> Inbox {
        Inbox(crate::sched::inbox::Inbox::new())
    }

    pub fn push(&self, t: Task) -> Result<(), Task> {
        self.0.push(t.0).map_err(Task)
    }

    pub fn take_all(&self) -> Vec<Task> {
        self.0.take_all().map(Task).collect()
    }

    pub fn close(&self) -> Vec<Task> {
        self.0.close().map(Task).collect()
    }
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox::new()
    }
}

impl Task {
    /// The task's id (as given at spawn: tests use it to tell tasks apart).
    pub fn id(&self) -> u64 {
        self.0.header().id
    }
}

/// Allocates a task with a given id.
pub fn spawn_with_id<F: Future + 'static>(
    queue: std::sync::Arc<TestQueue>,
    f: F,
    id: u64,
) -> (Task, JoinHandle<F::Output>) {
    let (n, h) = task::allocate(f, queue, id);
    (Task(n), h)
}

/// The production park/unpark handshake.
pub struct Park(crate::sched::park::ParkState);

impl Park {
    pub fn new() -> Park {
        Park(crate::sched::park::ParkState::new())
    }

    pub fn reset(&self) {
        self.0.reset();
    }

    pub fn try_park(&self) -> bool {
        self.0.try_park()
    }

    pub fn notify(&self) -> bool {
        self.0.notify()
    }
}

impl Default for Park {
    fn default() -> Self {
        Park::new()
    }
}

/// The io_uring operation lifecycle (`driver/uring/op.rs`), over a payload that counts its
/// releases and carries what "the kernel" wrote.
#[cfg(target_os = "linux")]
pub mod uring_op {
    use std::task::{Context, Poll, Waker};

    use crate::driver::uring::op::{self, Completed, Completion, Detached, Payload};
    use crate::loom::sync::atomic::{AtomicUsize, Ordering};
    use crate::loom::sync::Arc;

    pub struct TestPayload {
        releases: Arc<AtomicUsize>,
        value: u64,
    }

    impl Payload for TestPayload {
        fn release(&mut self, _: Completion) {
            self.releases.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// One operation's shared state.
    pub struct OpCell(op::OpCell<TestPayload>);

    /// What `complete` did.
    #[derive(Debug)]
    pub enum Complete {
        Released,
        Wake(Option<Waker>),
    }

    impl OpCell {
        pub fn new(releases: Arc<AtomicUsize>) -> OpCell {
            OpCell(op::OpCell::new(TestPayload { releases, value: 0 }))
        }

        /// The driver's final CQE: the kernel wrote `value`, the result is `res`.
        pub fn complete(&self, res: i32, value: u64) -> Complete {
            match self
                .0
                .complete(Completion { res, flags: 0 }, |p| p.value = value)
            {
                Completed::Released => Complete::Released,
                Completed::Wake(w) => Complete::Wake(w),
            }
        }

        pub fn poll(&self, cx: &mut Context<'_>) -> Poll<i32> {
            self.0.poll(cx).map(|c| c.res)
        }

        /// The payload's value, after `poll` returned `Ready`.
        pub fn value(&self) -> u64 {
            self.0.with_payload(|p| p.value)
        }

        pub fn cancel(&self) -> bool {
            self.0.cancel()
        }

        /// `None`: released now; `Some(cancel)`: still in flight, cancel to submit.
        pub fn detach(&self) -> Option<bool> {
            match self.0.detach() {
                Detached::Released => None,
                Detached::InFlight { cancel } => Some(cancel),
            }
        }
    }

    /// A multishot operation's arming.
    pub struct Multishot(op::Multishot);

    impl Multishot {
        pub fn new() -> Multishot {
            Multishot(op::Multishot::new())
        }

        pub fn try_arm(&self) -> bool {
            self.0.try_arm()
        }

        pub fn ended(&self) {
            self.0.ended()
        }
    }

    impl Default for Multishot {
        fn default() -> Self {
            Multishot::new()
        }
    }
}
