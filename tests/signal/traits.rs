//! The public signal types and futures can cross threads: a stream made on one thread is
//! polled on any worker.

use hiver_runtime::signal::{ctrl_c, signal, Signal, SignalKind};

use crate::support::serial;

fn send_sync_unpin<T: Send + Sync + Unpin>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn streams_kinds_and_futures_are_send() {
    let _serial = serial();
    send_sync_unpin::<Signal>();
    send_sync_unpin::<SignalKind>();
    // Never polled: creating the future installs nothing.
    send(&ctrl_c());
    let mut user1 = signal(SignalKind::user_defined1()).unwrap();
    send(&user1.recv());
}
