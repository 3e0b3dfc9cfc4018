//! Channels: the guide's examples and every semantic of the channel issue, one file per
//! behaviour (`cargo test --test chan`).

mod api;
mod backpressure;
mod cancel;
mod closing;
mod concurrent_recv;
#[path = "../common/drivers.rs"]
mod drivers;
mod drops;
mod fifo;
mod guide;
mod support;
mod threads;
