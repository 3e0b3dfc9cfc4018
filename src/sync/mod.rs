//! Waiting primitives shared by the channels and the I/O drivers: a lock-free single waker
//! slot, and a set of waiters whose first member is lock-free.

pub(crate) mod atomic_waker;
pub(crate) mod wait_set;
