//! The I/O traits of `hiver_runtime::compat` on hiver's streams, halves and files, with
//! crates written against them (futures-util's extension traits, tokio's, tokio-util's
//! codecs), on every driver this machine has. Each test runs once per driver, asserts the
//! driver it ran on, and checks that no descriptor leaked; the tests run one at a time
//! (`support::serial`). Built with the features `futures-io` and/or `tokio-io`.
#![cfg(any(feature = "futures-io", feature = "tokio-io"))]

#[path = "../common/drivers.rs"]
mod drivers;
#[path = "../common/fds.rs"]
mod fds;
#[path = "../net/support.rs"]
mod support;

#[cfg(feature = "futures-io")]
mod futures_io;
#[cfg(all(feature = "tokio-io", target_os = "linux"))]
mod tls;
#[cfg(feature = "tokio-io")]
mod tokio_io;
