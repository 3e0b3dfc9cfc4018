//! A worker: its shared half (inbox, park state, unparker, counters) that other threads
//! reach, its owner-only half (`Core`: local queue, owned tasks, driver), and the loop.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};
use std::task::Waker;
use std::time::Duration;

use super::context;
use super::metrics::Counters;
use super::Inner;
use crate::driver::{Driver, Unparker};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sched::inbox::Inbox;
use crate::sched::local::LocalQueue;
use crate::sched::park::ParkState;
use crate::task::{Notified, OwnedTask, Schedule};
use crate::time::wheel::{Key, Wheel};
use std::sync::Arc;

/// How many tasks a worker runs between two looks at its inbox and driver.
const TURN_BUDGET: usize = 64;

/// The part of a worker other threads use.
pub(crate) struct Shared {
    pub(crate) index: usize,
    pub(crate) inbox: Inbox,
    pub(crate) park: ParkState,
    pub(crate) unparker: OnceLock<Unparker>,
    /// Live tasks placed on this worker (placement heuristic).
    pub(crate) load: AtomicUsize,
    pub(crate) shutdown: AtomicBool,
    pub(crate) counters: Counters,
    /// Which task poll the worker is in, for the stall watchdog.
    pub(crate) heartbeat: super::stall::Heartbeat,
    /// Timers of this worker dropped on other threads, removed at its next turn (a rare
    /// slow path: a `Sleep` moved off its worker).
    timer_cancels: Mutex<Vec<Key>>,
    has_cancels: AtomicBool,
}

impl Shared {
    pub(crate) fn new(index: usize) -> Shared {
        Shared {
            index,
            inbox: Inbox::new(),
            park: ParkState::new(),
            unparker: OnceLock::new(),
            load: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            counters: Counters::default(),
            heartbeat: Default::default(),
            timer_cancels: Mutex::new(Vec::new()),
            has_cancels: AtomicBool::new(false),
        }
    }

    /// Cancels a timer of this worker from another thread.
    pub(crate) fn cancel_timer(&self, key: Key) {
        self.timer_cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(key);
        self.has_cancels.store(true, Ordering::Release);
    }

    /// Queues `task` from another thread: inbox, then one driver wake if parked.
    pub(crate) fn push_remote(&self, task: Notified) {
        match self.inbox.push(task) {
            Ok(()) => {
                self.counters
                    .remote_schedules
                    .fetch_add(1, Ordering::Relaxed);
                self.notify();
            }
            // Closed: the worker has shut down; dropping the task cancels or releases it.
            Err(task) => drop(task),
        }
    }

    /// Wakes the worker if it is parked.
    pub(crate) fn notify(&self) {
        if self.park.notify() {
            if let Some(u) = self.unparker.get() {
                self.counters.unparks.fetch_add(1, Ordering::Relaxed);
                u.unpark();
            }
        }
    }

    /// Asks the worker to stop.
    pub(crate) fn stop(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.notify();
    }
}

impl Schedule for Shared {
    fn schedule(&self, task: Notified) {
        match context::current() {
            Some(core) if std::ptr::eq(&*core.shared, self) => {
                self.counters
                    .local_schedules
                    .fetch_add(1, Ordering::Relaxed);
                core.push_local(task)
            }
            _ => self.push_remote(task),
        }
    }
}

/// The owner-only part of a worker.
pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    pub(crate) handle: Arc<Inner>,
    local: RefCell<LocalQueue>,
    owned: RefCell<Slab>,
    driver: RefCell<Driver>,
    timers: RefCell<Wheel>,
    fired: RefCell<Vec<Waker>>,
    /// Tasks that yielded (`yield_now`, a spent coop budget): woken after the next driver
    /// turn, so that the worker looks at its I/O and timers before they run again.
    deferred: RefCell<Vec<Waker>>,
    /// The clock as last read at the top of a turn (saves a clock read per timer).
    last_now: std::cell::Cell<std::time::Instant>,
}

impl Core {
    pub(crate) fn new(shared: Arc<Shared>, handle: Arc<Inner>, driver: Driver) -> Rc<Core> {
        let queue_size = handle.config.queue_size;
        Rc::new(Core {
            shared,
            handle,
            local: RefCell::new(LocalQueue::new(queue_size)),
            owned: RefCell::new(Slab::default()),
            driver: RefCell::new(driver),
            timers: RefCell::new(Wheel::new()),
            fired: RefCell::new(Vec::new()),
            deferred: RefCell::new(Vec::new()),
            last_now: std::cell::Cell::new(std::time::Instant::now()),
        })
    }

    /// Adds a timer for `deadline`; `None` if it is already due. "Due" is judged against
    /// the clock as read at the top of this turn: a deadline between that and now goes in
    /// the wheel and fires at the next turn.
    pub(crate) fn insert_timer(&self, deadline: std::time::Instant, waker: &Waker) -> Option<Key> {
        let clock = &self.handle.clock;
        if deadline <= self.last_now.get() {
            return None;
        }
        let tick = clock.deadline_ticks(deadline);
        let mut wheel = self.timers.borrow_mut();
        let key = wheel.insert(tick, waker.clone());
        let fired = wheel.is_fired(key);
        if fired {
            wheel.remove(key);
        }
        self.count_timers(&wheel);
        (!fired).then_some(key)
    }

    /// Whether the timer fired (then it is freed); else its waker is updated.
    pub(crate) fn timer_fired(&self, key: Key, waker: &Waker) -> bool {
        let mut wheel = self.timers.borrow_mut();
        if wheel.is_fired(key) {
            wheel.remove(key);
            self.count_timers(&wheel);
            true
        } else {
            wheel.set_waker(key, waker);
            false
        }
    }

    /// Removes a timer; `false` if the wheel is busy (the caller cancels remotely).
    pub(crate) fn remove_timer(&self, key: Key) -> bool {
        match self.timers.try_borrow_mut() {
            Ok(mut w) => {
                w.remove(key);
                self.count_timers(&w);
                true
            }
            Err(_) => false,
        }
    }

    /// Fires the timers now due and applies cancellations from other threads.
    pub(crate) fn fire_timers(&self) {
        if self.shared.has_cancels.swap(false, Ordering::AcqRel) {
            let keys = std::mem::take(
                &mut *self
                    .shared
                    .timer_cancels
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
            );
            let mut w = self.timers.borrow_mut();
            for k in keys {
                w.remove(k);
            }
            self.count_timers(&w);
        }
        let clock = &self.handle.clock;
        let now_instant = clock.now();
        self.last_now.set(now_instant);
        let now = clock.ticks_at(now_instant);
        let mut fired = self.fired.borrow_mut();
        {
            let mut w = self.timers.borrow_mut();
            if w.next_expiration().is_none_or(|t| t > now) {
                return;
            }
            w.advance(now, |waker| fired.push(waker));
        }
        let wakers = std::mem::take(&mut *fired);
        drop(fired);
        for w in wakers {
            w.wake();
        }
    }

    fn count_timers(&self, w: &Wheel) {
        self.shared
            .counters
            .timers
            .store(w.allocated() as u64, Ordering::Relaxed);
    }

    /// The next timer's deadline, if any.
    pub(crate) fn next_timer(&self) -> Option<std::time::Instant> {
        let t = self.timers.borrow().next_expiration()?;
        Some(self.handle.clock.tick_instant(t))
    }

    /// How long a park may last: `park_timeout`, bounded by the next timer (a paused
    /// clock does not move by waiting, so its timers do not bound the park).
    fn park_limit(&self) -> Option<Duration> {
        let cfg = self.handle.config.park_timeout;
        let clock = &self.handle.clock;
        let timer = if clock.is_paused() {
            None
        } else {
            self.next_timer()
                .map(|d| d.saturating_duration_since(clock.now()))
        };
        match (cfg, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn push_local(&self, task: Notified) {
        let mut q = self.local.borrow_mut();
        q.push(task);
        self.shared
            .counters
            .local_overflows
            .store(q.overflowed(), Ordering::Relaxed);
    }

    fn pop_local(&self) -> Option<Notified> {
        self.local.borrow_mut().pop()
    }

    /// Moves the inbox into the local queue.
    fn drain_inbox(&self) {
        for task in self.shared.inbox.take_all() {
            self.push_local(task);
        }
    }

    fn run_task(&self, task: Notified) {
        if let Some(owned) = task.claim_owned() {
            let slot = self.owned.borrow_mut().insert(owned);
            task.set_owned_slot(slot);
        }
        let slot = task.owned_slot();
        let poll = Counters::bump_owned(&self.shared.counters.polls);
        self.shared.heartbeat.begin(poll);
        let done = crate::task::coop::budgeted(|| task.run());
        self.shared.heartbeat.end();
        if done {
            let done = self.owned.borrow_mut().remove(slot);
            // Release: pairs with the Acquire count of a graceful shutdown.
            self.shared.load.fetch_sub(1, Ordering::Release);
            drop(done);
            self.handle.shutdown.task_done();
        }
    }

    /// Runs up to a budget of ready tasks; `true` if any ran.
    pub(crate) fn run_ready(&self) -> bool {
        self.drain_inbox();
        let mut ran = 0;
        while ran < TURN_BUDGET {
            let Some(task) = self.pop_local() else { break };
            self.run_task(task);
            ran += 1;
        }
        ran > 0
    }

    /// Wakes `waker` after the next driver turn (a task that yields).
    pub(crate) fn defer(&self, waker: &Waker) {
        self.deferred.borrow_mut().push(waker.clone());
    }

    fn wake_deferred(&self) {
        let wakers = std::mem::take(&mut *self.deferred.borrow_mut());
        for w in wakers {
            w.wake();
        }
    }

    /// The driver of this worker.
    pub(crate) fn driver(&self) -> &RefCell<Driver> {
        &self.driver
    }

    /// After a batch of tasks: the driver submits what they queued and takes what is ready.
    pub(crate) fn turn_driver(&self) {
        let busy = self.has_ready();
        let mut d = self.driver.borrow_mut();
        if let Err(e) = d.turn(busy) {
            tracing::error!(worker = self.shared.index, error = %e, "driver turn failed");
        }
        self.record(&mut d);
        drop(d);
        self.wake_deferred();
    }

    /// Copies the driver's counters into the worker's.
    fn record(&self, d: &mut Driver) {
        let c = &self.shared.counters;
        c.kernel_entries
            .store(d.kernel_entries(), Ordering::Relaxed);
        #[cfg(target_os = "linux")]
        if let Some(u) = d.as_uring() {
            let s = u.stats();
            c.io_submitted.store(s.submitted, Ordering::Relaxed);
            c.io_completed.store(s.completions, Ordering::Relaxed);
            c.io_in_flight.store(s.in_flight, Ordering::Relaxed);
            c.io_cancels.store(s.cancels, Ordering::Relaxed);
            c.io_cancels_done.store(s.cancels_done, Ordering::Relaxed);
            c.io_cancels_late.store(s.cancels_late, Ordering::Relaxed);
            c.io_max_batch.store(s.max_batch, Ordering::Relaxed);
            c.buf_starved.store(s.starved, Ordering::Relaxed);
            c.cq_overflows.store(s.overflow, Ordering::Relaxed);
        }
    }

    /// Submits what is queued and takes what is ready, without waiting.
    pub(crate) fn flush_driver(&self) {
        let mut d = self.driver.borrow_mut();
        if let Err(e) = d.turn(true) {
            tracing::error!(worker = self.shared.index, error = %e, "driver flush failed");
        }
        self.record(&mut d);
        drop(d);
        self.wake_deferred();
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self.local.borrow().is_empty()
            || !self.shared.inbox.is_empty()
            || !self.deferred.borrow().is_empty()
    }

    /// Idle: parks in the driver (bounded by `park_timeout`), or polls it when parking is
    /// disabled.
    pub(crate) fn park(&self) {
        let cfg = &self.handle.config;
        if !cfg.enable_parking {
            self.poll_driver(Some(Duration::ZERO));
            std::hint::spin_loop();
            return;
        }
        let limit = self.park_limit();
        if limit.is_some_and(|d| d.is_zero()) {
            return;
        }
        if self.shared.park.try_park() {
            Counters::bump_owned(&self.shared.counters.parks);
            tracing::trace!(worker = self.shared.index, "park");
            self.poll_driver(limit);
        }
    }

    fn poll_driver(&self, timeout: Option<Duration>) {
        let mut d = self.driver.borrow_mut();
        if let Err(e) = d.park(timeout) {
            tracing::error!(worker = self.shared.index, error = %e, "driver park failed");
        }
        self.record(&mut d);
    }

    /// The worker loop, until shutdown.
    pub(crate) fn run(self: &Rc<Core>) {
        loop {
            self.shared.park.reset();
            if self.shared.shutdown.load(Ordering::Acquire) {
                break;
            }
            self.fire_timers();
            if self.run_ready() {
                self.turn_driver();
                continue;
            }
            self.park();
        }
    }

    /// Drops every task this worker owns or has queued, on this thread. The inbox is
    /// closed first, so that wakes arriving later are dropped by their senders.
    pub(crate) fn shutdown(&self) {
        drop(self.shared.inbox.close());
        self.deferred.borrow_mut().clear();
        loop {
            while let Some(task) = self.pop_local() {
                drop(task);
            }
            let next = self.owned.borrow_mut().take_any();
            match next {
                Some(owned) => {
                    owned.shutdown();
                    drop(owned);
                }
                None if self.local.borrow().is_empty() => break,
                None => {}
            }
        }
    }
}

/// The owned tasks of a worker: a slab with a free list, O(1) insert and remove.
#[derive(Default)]
struct Slab {
    slots: Vec<Option<OwnedTask>>,
    free: Vec<usize>,
}

impl Slab {
    fn insert(&mut self, t: OwnedTask) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(t);
                i
            }
            None => {
                self.slots.push(Some(t));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) -> Option<OwnedTask> {
        let t = self.slots.get_mut(i)?.take();
        if t.is_some() {
            self.free.push(i);
        }
        t
    }

    /// Shutdown only: takes tasks from the end; inserting after it starts is not supported
    /// (nothing runs during shutdown, so nothing is inserted).
    fn take_any(&mut self) -> Option<OwnedTask> {
        self.free.clear();
        while let Some(slot) = self.slots.pop() {
            if slot.is_some() {
                return slot;
            }
        }
        None
    }
}
