//! Scheduling queues: the per-worker local run queue, the lock-free inbox other threads
//! push to, the park/unpark handshake, and task placement.

pub(crate) mod inbox;
pub(crate) mod local;
pub(crate) mod park;
pub(crate) mod placement;
