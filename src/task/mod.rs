//! Tasks: one heap allocation each (header, future then output, join waker), a state word
//! with a reference count, a hand-written waker vtable, and the join handle.
//!
//! Rules (see `state.rs` for the bits and `raw.rs` for who touches which field):
//! 1. A task is polled and its future dropped only on its owner worker's thread.
//! 2. At most one `Notified` reference exists (the `SCHEDULED` bit), so a task sits in at
//!    most one queue.
//! 3. The output is read by the join handle after `COMPLETE`, or dropped by the completer
//!    when no handle wants it; never both.
//! 4. The allocation is freed by whoever drops the last reference, on any thread.

pub(crate) mod coop;
mod join;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;

pub use coop::yield_now;
pub use join::{JoinError, JoinHandle};
pub(crate) use raw::{allocate, Notified, OwnedTask, Schedule};

#[cfg(all(test, not(loom)))]
mod tests;
