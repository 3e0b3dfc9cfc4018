//! The single allocation of a task (header, future or output, join waker) and its vtable.
//!
//! # Safety
//!
//! A task is a `Cell<F>` on the heap, reached through `NonNull<Header>` (the header is its
//! first field, `#[repr(C)]`). It stays allocated while its reference count (in the state
//! word) is non-zero; every `Notified`, `OwnedTask`, `JoinHandle` and `Waker` holds one.
//! Who may touch what:
//! - `stage` while the future lives: only the owner worker, inside a run (`RUNNING` set) or
//!   at shutdown after claiming the task; the future is therefore created, polled and
//!   dropped on one thread (this is what makes `spawn_local` of `!Send` futures sound).
//! - `stage` after `COMPLETE`: the join handle if it still has `JOIN_INTEREST`, else the
//!   completer once; at deallocation, the last reference holder (nobody else is left).
//! - `join_waker`: the handle while `JOIN_WAKER` is clear; the task side (read only) while
//!   it is set; dropped at deallocation.
//! - `owned_slot`: only the owner worker thread.
#![allow(unsafe_code)]

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::join::{JoinError, JoinHandle};
use super::state::{self, EndRun, StartRun, State, Wake};
use super::waker::waker_ref;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::AtomicPtr;
use std::sync::Arc;

/// Where a task goes when it is woken: its owner worker's queues.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues `task` on its owner. Called from any thread; on the owner thread it may go
    /// to the local queue. If the owner is gone, dropping `task` is the right answer.
    fn schedule(&self, task: Notified);
}

/// The type-erased operations of a task.
pub(crate) struct Vtable {
    run: unsafe fn(NonNull<Header>) -> bool,
    shutdown: unsafe fn(NonNull<Header>),
    read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    drop_output: unsafe fn(NonNull<Header>),
    dealloc: unsafe fn(NonNull<Header>),
}

/// The untyped head of every task.
pub(crate) struct Header {
    pub(crate) state: State,
    /// Link for the owner's inbox (intrusive stack), valid only while queued there.
    pub(crate) queue_next: AtomicPtr<Header>,
    vtable: &'static Vtable,
    pub(crate) scheduler: Arc<dyn Schedule>,
    owned_slot: UnsafeCell<usize>,
    pub(crate) id: u64,
}

// SAFETY: the state and link are atomics; `owned_slot` is touched only by the owner thread
// and `scheduler` is Send + Sync. The future and output live outside the header, guarded by
// the state protocol of the module docs.
unsafe impl Send for Header {}
// SAFETY: as above.
unsafe impl Sync for Header {}

/// `owned_slot` value of a task its owner has not yet received.
pub(crate) const NOT_OWNED: usize = usize::MAX;

pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
    join_waker: UnsafeCell<Option<Waker>>,
}

/// Allocates a task. Returns its first `Notified` and its join handle; the third initial
/// reference, the owner's, is claimed when the owner first receives the task (`UNOWNED`).
pub(crate) fn allocate<F>(
    future: F,
    scheduler: Arc<dyn Schedule>,
    id: u64,
) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + 'static,
{
    let cell = Box::new(Cell {
        header: Header {
            state: State::new(3),
            queue_next: AtomicPtr::new(std::ptr::null_mut()),
            vtable: vtable::<F>(),
            scheduler,
            owned_slot: UnsafeCell::new(NOT_OWNED),
            id,
        },
        stage: UnsafeCell::new(Stage::Running(future)),
        join_waker: UnsafeCell::new(None),
    });
    let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
    (
        Notified(ptr),
        JoinHandle::new(RawJoin {
            ptr,
            _out: PhantomData,
        }),
    )
}

fn vtable<F: Future + 'static>() -> &'static Vtable {
    &Vtable {
        run: run::<F>,
        shutdown: shutdown::<F>,
        read_output: read_output::<F>,
        drop_output: drop_output::<F>,
        dealloc: dealloc::<F>,
    }
}

/// # Safety
///
/// `ptr` must be the header of a live `Cell<F>`.
unsafe fn cell<'a, F: Future>(ptr: NonNull<Header>) -> &'a Cell<F> {
    // SAFETY: the header is the first field of the repr(C) Cell<F> the caller vouches for.
    unsafe { ptr.cast::<Cell<F>>().as_ref() }
}

/// Runs the task once on its owner. Consumes one reference (the `Notified`'s). Returns
/// `true` when the task finished here (completed or cancelled).
///
/// # Safety
///
/// `ptr` is a live `Cell<F>`, the caller owns a `Notified` reference it gives up, and runs
/// on the owner thread.
unsafe fn run<F: Future + 'static>(ptr: NonNull<Header>) -> bool {
    // SAFETY: the caller's reference keeps the cell alive for this call.
    let c = unsafe { cell::<F>(ptr) };
    let finished = match c.header.state.start_run() {
        StartRun::Done => false,
        StartRun::Cancel => {
            // SAFETY: RUNNING is set and we are the owner: the stage is ours.
            unsafe { cancel::<F>(c) };
            true
        }
        StartRun::Poll => {
            // SAFETY: RUNNING is set, we are the owner thread, the reference is held.
            match unsafe { poll_once::<F>(ptr, c) } {
                Some(()) => true,
                None => return false, // the reference was requeued or released
            }
        }
    };
    // SAFETY: the Notified reference this call consumed.
    unsafe { release(ptr) };
    finished
}

/// Polls once. `Some` when finished (reference still held), `None` when pending (the
/// reference was released or requeued).
///
/// # Safety
///
/// As `run`, with `RUNNING` set by this thread.
unsafe fn poll_once<F: Future + 'static>(ptr: NonNull<Header>, c: &Cell<F>) -> Option<()> {
    // SAFETY: the Notified reference outlives the poll; the waker borrows it.
    let waker = unsafe { waker_ref(ptr) };
    let mut cx = Context::from_waker(&waker);
    let res = catch_unwind(AssertUnwindSafe(|| {
        c.stage.with_mut(|stage| {
            // SAFETY: RUNNING: only this thread touches the stage.
            match unsafe { &mut *stage } {
                // SAFETY: the future lives in the heap cell and is never moved until it is
                // dropped in place, so pinning it there is sound.
                Stage::Running(f) => unsafe { std::pin::Pin::new_unchecked(f) }.poll(&mut cx),
                _ => unreachable!("a running task holds its future"),
            }
        })
    }));
    match res {
        Ok(Poll::Ready(out)) => {
            // SAFETY: still RUNNING on the owner thread.
            unsafe { finish(c, Ok(out)) };
            Some(())
        }
        Ok(Poll::Pending) => match c.header.state.end_run_pending() {
            EndRun::Idle => {
                // SAFETY: the Notified reference of this run.
                unsafe { release(ptr) };
                None
            }
            EndRun::Requeue => {
                c.header.scheduler.schedule(Notified(ptr));
                None
            }
            EndRun::Cancel => {
                // SAFETY: still RUNNING on the owner thread.
                unsafe { cancel::<F>(c) };
                Some(())
            }
        },
        Err(payload) => {
            tracing::error!(task = c.header.id, panic = %panic_message(&*payload), "task panicked");
            // SAFETY: still RUNNING on the owner thread; the future may be half-polled and
            // is dropped in place.
            let dropped = unsafe { drop_future(c) };
            let err = match dropped {
                Ok(()) => JoinError::panic(payload),
                Err(second) => JoinError::panic(second),
            };
            // SAFETY: as above.
            unsafe { finish(c, Err(err)) };
            Some(())
        }
    }
}

/// Drops the future in place (catching a panic in its `Drop`) and marks the stage consumed.
///
/// # Safety
///
/// The caller owns the stage (RUNNING on the owner thread, or a shutdown claim).
unsafe fn drop_future<F: Future>(c: &Cell<F>) -> Result<(), Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller owns the stage.
        c.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
    }))
}

/// # Safety
///
/// The caller owns the stage (RUNNING set by it).
unsafe fn cancel<F: Future>(c: &Cell<F>) {
    // SAFETY: forwarded.
    let err = match unsafe { drop_future(c) } {
        Ok(()) => JoinError::cancelled(),
        Err(payload) => JoinError::panic(payload),
    };
    // SAFETY: forwarded.
    unsafe { finish(c, Err(err)) };
}

/// Stores the result, marks the task complete and tells the join handle.
///
/// # Safety
///
/// The caller owns the stage (RUNNING set by it, future already gone or finishing now).
unsafe fn finish<F: Future>(c: &Cell<F>, result: Result<F::Output, JoinError>) {
    c.stage.with_mut(|s| {
        // SAFETY: the caller owns the stage until the COMPLETE transition below publishes it.
        unsafe { *s = Stage::Finished(result) }
    });
    let snap = c.header.state.complete();
    if !snap.has(state::JOIN_INTEREST) {
        // Nobody will read it: drop the output here, on the owner thread.
        let r = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: without JOIN_INTEREST the handle is gone, and COMPLETE was set by us:
            // we are the only one left touching the stage.
            c.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
        }));
        if r.is_err() {
            tracing::error!(
                task = c.header.id,
                "the output of a detached task panicked in drop"
            );
        }
    } else if snap.has(state::JOIN_WAKER) {
        c.join_waker.with(|w| {
            // SAFETY: JOIN_WAKER was set before COMPLETE: the waker is stored and the handle
            // no longer writes it; we only read it.
            if let Some(w) = unsafe { &*w } {
                w.wake_by_ref();
            }
        });
    }
}

/// Shutdown on the owner thread: drops the future of a task claimed with
/// `claim_for_shutdown`.
///
/// # Safety
///
/// Owner thread; the claim succeeded; a reference is held.
unsafe fn shutdown<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the cell alive.
    let c = unsafe { cell::<F>(ptr) };
    // SAFETY: the claim set RUNNING|CANCELLED for us.
    unsafe { cancel::<F>(c) };
}

/// Join handle: takes the output if complete, else registers `waker`.
///
/// # Safety
///
/// `dst` points to a `Poll<Result<F::Output, JoinError>>`; the caller is the join handle.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: the handle's reference keeps the cell alive.
    let c = unsafe { cell::<F>(ptr) };
    let st = &c.header.state;
    let snap = st.load();
    let complete = if snap.has(state::COMPLETE) {
        true
    } else if !snap.has(state::JOIN_WAKER) {
        c.join_waker.with_mut(|w| {
            // SAFETY: JOIN_WAKER clear: the waker cell is the handle's.
            unsafe { *w = Some(waker.clone()) }
        });
        st.set_join_waker().is_err()
    } else {
        let same = c.join_waker.with(|w| {
            // SAFETY: JOIN_WAKER set: the task side may read the cell; we may too.
            let w = unsafe { &*w };
            w.as_ref().is_some_and(|w| w.will_wake(waker))
        });
        if same {
            false
        } else if st.unset_join_waker().is_err() {
            true
        } else {
            c.join_waker.with_mut(|w| {
                // SAFETY: JOIN_WAKER clear again: the cell is the handle's.
                unsafe { *w = Some(waker.clone()) }
            });
            st.set_join_waker().is_err()
        }
    };
    if complete {
        // COMPLETE was observed with Acquire and JOIN_INTEREST is ours.
        let stage = c.stage.with_mut(|s| {
            // SAFETY: the stage holds the output and only we touch it now (above).
            unsafe { std::mem::replace(&mut *s, Stage::Consumed) }
        });
        let out = match stage {
            Stage::Finished(r) => r,
            _ => panic!("JoinHandle polled after it returned the output"),
        };
        // SAFETY: the caller passes a pointer to a Poll of the output type.
        unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(out) };
    }
}

/// Join handle dropped after completion: drops the output.
///
/// # Safety
///
/// The caller is the join handle and saw `drop_join_interest` fail (task complete).
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: the handle's reference keeps the cell alive.
    let c = unsafe { cell::<F>(ptr) };
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: COMPLETE with JOIN_INTEREST still ours: only we touch the stage.
        c.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
    }));
    if r.is_err() {
        tracing::error!(task = c.header.id, "a task's output panicked in drop");
    }
}

/// # Safety
///
/// The last reference is gone: nobody else can reach the cell.
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: allocated by Box in `allocate` as Cell<F>; unreachable by anyone else.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F>>().as_ptr()) };
    let r = catch_unwind(AssertUnwindSafe(move || drop(cell)));
    if r.is_err() {
        tracing::error!("a task's output or waker panicked in drop");
    }
}

/// Drops one reference, deallocating on the last.
///
/// # Safety
///
/// The caller owns the reference it gives up.
pub(crate) unsafe fn release(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive until the decrement.
    let h = unsafe { ptr.as_ref() };
    if h.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (h.vtable.dealloc)(ptr) };
    }
}

/// Wakes the task behind `ptr` (a waker's reference is borrowed, not consumed).
///
/// # Safety
///
/// The caller holds a reference to the task for the duration of the call.
pub(crate) unsafe fn wake_by_ref(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    let h = unsafe { ptr.as_ref() };
    if h.state.wake() == Wake::Submit {
        h.scheduler.schedule(Notified(ptr));
    }
}

/// A task that is scheduled to run: owns one reference.
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: a Notified only moves a reference between threads; the future is touched only by
// `run`, which the scheduler calls on the owner thread (module docs).
unsafe impl Send for Notified {}

impl Notified {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: our reference keeps the header alive.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    /// # Safety
    ///
    /// `ptr` carries a reference the new `Notified` takes over.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified {
        Notified(ptr)
    }

    /// The owner's slot for this task, or [`NOT_OWNED`]. Owner thread only.
    pub(crate) fn owned_slot(&self) -> usize {
        // SAFETY: only the owner thread calls this (scheduler contract).
        self.header().owned_slot.with(|s| unsafe { *s })
    }

    /// Records the owner's slot. Owner thread only.
    pub(crate) fn set_owned_slot(&self, slot: usize) {
        // SAFETY: only the owner thread calls this (scheduler contract).
        self.header().owned_slot.with_mut(|s| unsafe { *s = slot });
    }

    /// On the owner, at receipt: the owner's reference if this is the first delivery.
    pub(crate) fn claim_owned(&self) -> Option<OwnedTask> {
        self.header().state.claim_owned().then(|| OwnedTask(self.0))
    }

    /// Runs the task once. Owner thread only. `true` when it finished.
    pub(crate) fn run(self) -> bool {
        let ptr = self.into_raw();
        // SAFETY: the reference moves into run; the scheduler calls this on the owner.
        unsafe { (ptr.as_ref().vtable.run)(ptr) }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // Never delivered to its owner (its inbox closed at shutdown, or the owner's queues
        // are being drained): nobody else will cancel it, so do it here. The future was
        // never polled; a `spawn` future is Send, and a `spawn_local` one is only ever
        // queued on its own thread, so this drop happens where it may.
        if let Some(owned) = self.claim_owned() {
            owned.shutdown();
        }
        // SAFETY: the reference this Notified owned.
        unsafe { release(self.0) };
    }
}

/// The owner's reference to a task it has not finished: kept in its owned list so that
/// shutdown can cancel tasks nobody will wake.
pub(crate) struct OwnedTask(NonNull<Header>);

impl OwnedTask {
    /// Cancels the task at shutdown, unless it is complete or running. Owner thread only.
    pub(crate) fn shutdown(&self) {
        // SAFETY: our reference keeps the header alive.
        let h = unsafe { self.0.as_ref() };
        if h.state.claim_for_shutdown() {
            // SAFETY: claimed on the owner thread, reference held.
            unsafe { (h.vtable.shutdown)(self.0) };
        }
    }
}

impl Drop for OwnedTask {
    fn drop(&mut self) {
        // SAFETY: the reference this OwnedTask owned.
        unsafe { release(self.0) };
    }
}

/// The join handle's raw access to its task.
pub(crate) struct RawJoin<T> {
    ptr: NonNull<Header>,
    _out: PhantomData<T>,
}

impl<T> RawJoin<T> {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: our reference keeps the header alive.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn poll_output(&self, waker: &Waker) -> Poll<Result<T, JoinError>> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the task's output type (from_raw contract).
        unsafe {
            (self.header().vtable.read_output)(
                self.ptr,
                (&mut out as *mut Poll<Result<T, JoinError>>).cast(),
                waker,
            )
        };
        out
    }

    pub(crate) fn abort(&self) {
        if self.header().state.abort() == Wake::Submit {
            self.header().scheduler.schedule(Notified(self.ptr));
        }
    }
}

impl<T> Drop for RawJoin<T> {
    fn drop(&mut self) {
        if self.header().state.drop_join_interest().is_err() {
            // SAFETY: the task completed first: the output is ours to drop.
            unsafe { (self.header().vtable.drop_output)(self.ptr) };
        }
        // SAFETY: the join handle's reference.
        unsafe { release(self.ptr) };
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}
