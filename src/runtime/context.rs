//! The thread-local "current worker": set while a worker loop or `block_on` runs on this
//! thread, used by `spawn`, `spawn_local` and by wakers to find the local queue.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::worker::Core;
use crate::driver::IoPath;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// The current worker's I/O path and `max_ops_per_fd`, read on every I/O poll (a copy,
    /// so that a poll does not go through `CURRENT`'s `Rc` and `RefCell`).
    static IO: Cell<Option<(IoPath, usize)>> = const { Cell::new(None) };
}

/// Makes `core` current on this thread until the guard drops; `None` if one already is
/// (a nested `block_on`, or `block_on` on a worker thread).
pub(crate) fn enter(core: &Rc<Core>) -> Option<EnterGuard> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_some() {
            return None;
        }
        *c = Some(core.clone());
        let path = core.driver().borrow().io_path();
        IO.with(|io| io.set(Some((path, core.handle.config.driver_io.max_ops_per_fd))));
        Some(EnterGuard(()))
    })
}

/// Restores "no current worker" on drop.
pub(crate) struct EnterGuard(());

impl Drop for EnterGuard {
    fn drop(&mut self) {
        IO.with(|io| io.set(None));
        let core = CURRENT.with(|c| c.borrow_mut().take());
        drop(core);
    }
}

/// Whether a worker or `block_on` is running on this thread.
pub(crate) fn is_entered() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// The current worker's I/O path and `max_ops_per_fd`, if a worker runs on this thread.
pub(crate) fn io() -> Option<(IoPath, usize)> {
    IO.try_with(Cell::get).ok().flatten()
}

/// Runs `f` with the current core, without taking a reference to it; `None` outside a
/// runtime.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// The current core, if any.
pub(crate) fn current() -> Option<Rc<Core>> {
    // try_with: a waker may fire while this thread's locals are being destroyed.
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}
