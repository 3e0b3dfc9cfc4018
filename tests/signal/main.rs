//! Signals on every driver this machine has (io_uring and epoll here; kqueue on the BSDs):
//! delivery to listeners on the `block_on` thread and on workers, several listeners,
//! coalescing, `ctrl_c`, two runtimes at once, a signal raised from another thread, refused
//! signals. Signals are process-wide: the tests run one at a time (`support::serial`), each
//! on a signal of its own.

#[path = "../common/drivers.rs"]
mod drivers;
mod support;

mod ctrl_c;
mod delivery;
mod refused;
mod runtimes;
mod traits;
mod wake;
