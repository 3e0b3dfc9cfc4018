//! Timers and select: the guide's examples, edge cases, accuracy, virtual time, fairness.

#[path = "../common/drivers.rs"]
mod drivers;
mod edges;
mod guide;
#[cfg(feature = "test-util")]
#[path = "../common/rng.rs"]
mod rng;
mod select;
#[cfg(feature = "test-util")]
mod virtual_time;
