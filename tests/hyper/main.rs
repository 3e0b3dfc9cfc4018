//! hyper 1.x on hiver through `hiver_runtime::compat` (feature `hyper`): hyper's HTTP/1 and
//! HTTP/2 servers and clients over hiver's streams, its timeouts on hiver's timer wheel,
//! and the `hyper_server` example as a process, asked by `curl` and by hyper's own client.
//! Every test runs once per driver and asserts the driver it ran on; the in-process tests
//! run one at a time and check that no descriptor leaked.

#[path = "../common/drivers.rs"]
mod drivers;
#[path = "../common/fds.rs"]
mod fds;
#[path = "../net/support.rs"]
mod support;

mod conn;
#[cfg(target_os = "linux")]
mod example;
