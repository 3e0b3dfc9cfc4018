//! Network I/O on every driver this machine has (io_uring and epoll here; kqueue on the
//! BSDs): each test runs once per driver and asserts the driver it ran on. One file per
//! behaviour; the tests run one at a time (`support::serial`), each checking that no
//! descriptor leaked.

#[path = "../common/drivers.rs"]
mod drivers;
#[path = "../common/fds.rs"]
mod fds;
mod support;

mod bulk_read;
mod cancel;
mod close_on_drop;
mod echo_bulk;
#[cfg(target_os = "linux")]
mod emfile;
mod enobufs;
mod errors;
mod guide;
mod half_close;
mod many_conns;
mod ring_pressure;
mod split_owned;
mod udp;
mod unix;
