//! The thread-local "current worker": set while a worker loop or `block_on` runs on this
//! thread, used by `spawn`, `spawn_local` and by wakers to find the local queue.

use std::cell::RefCell;
use std::rc::Rc;

use super::worker::Core;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
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
        Some(EnterGuard(()))
    })
}

/// Restores "no current worker" on drop.
pub(crate) struct EnterGuard(());

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let core = CURRENT.with(|c| c.borrow_mut().take());
        drop(core);
    }
}

/// Whether a worker or `block_on` is running on this thread.
pub(crate) fn is_entered() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// The current core, if any.
pub(crate) fn current() -> Option<Rc<Core>> {
    // try_with: a waker may fire while this thread's locals are being destroyed.
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}
