//! Runtime, builder and task behaviour: one file per behaviour.
// The guide's configuration examples assign fields after `RuntimeConfig::default()`;
// they are kept as written.
#![allow(clippy::field_reassign_with_default)]

mod blocking;
mod builder;
mod coop;
mod driver_config;
#[path = "../common/drivers.rs"]
mod drivers;
#[path = "../common/fds.rs"]
mod fds;
mod guide;
mod handle;
mod metrics_display;
mod shutdown;
mod stress;
mod support;
mod tasks;
