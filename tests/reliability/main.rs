//! Reliability under faults and load (the reliability issue, RELIABILITY.md sections 3-4):
//! one file per case, each run once per driver this machine has (io_uring and epoll here)
//! and checked for leaked descriptors. These are the fast versions; `examples/soak.rs`
//! runs the long ones and prints their figures. The tests run one at a time
//! (`support::serial`): they count the process's descriptors, fork, and time echoes.
#![cfg(target_os = "linux")]

#[path = "../common/drivers.rs"]
mod drivers;
#[path = "../common/fds.rs"]
mod fds;
mod forked;
mod load;
mod support;

mod bad_addresses;
mod blocked_worker;
mod churn;
mod close_cancelled_read;
mod closed_fd;
mod cq_overflow;
mod drop_pending;
mod duration_max;
mod eintr;
mod fork;
mod huge_buffers;
mod many_idle;
mod memlock;
mod panics;
mod partial_writes;
mod runtime_churn;
mod shutdown_load;
mod slow_clients;
mod slowloris;
mod soak;
mod spawn_shutdown;
mod starvation;
mod task_matrix;
mod timer_resets;
mod timer_storm;
mod wake_storm;
mod zero_length;
