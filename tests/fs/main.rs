//! Files on every driver this machine has (io_uring and epoll here; kqueue on the BSDs):
//! each test runs once per driver, asserts the driver it ran on, runs its body as a task
//! on a worker, and checks that no descriptor leaked (counted before the runtime is made
//! and after it is dropped). The tests of this binary run one at a time (`support::serial`):
//! descriptors are counted process-wide.

#[path = "../common/drivers.rs"]
mod drivers;
#[path = "../common/fds.rs"]
mod fds;
mod support;

mod cancel;
mod concurrent;
mod cursor;
mod errors;
mod metadata;
mod paths;
mod positional;
mod ring_only;
mod round_trip;
