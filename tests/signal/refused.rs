//! Signals that may not be listened to are refused with `InvalidInput` (no driver is
//! involved: the check comes first); the named kinds are this platform's numbers.

use std::io::ErrorKind;

use hiver_runtime::signal::{signal, SignalKind};

use crate::support::serial;

#[test]
fn uncatchable_fault_and_out_of_range_signals_are_refused() {
    let _serial = serial();
    let mut refused = vec![
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
        0,
        -1,
        i32::MAX,
        hiver_sys::signal::MAX_SIGNAL + 1,
    ];
    if cfg!(target_os = "linux") {
        // Reserved by the C library for its threads.
        refused.extend([32, 33]);
    }
    for raw in refused {
        let err = signal(SignalKind::from_raw(raw)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{raw}: {err}");
        assert!(err.to_string().contains(&raw.to_string()), "{raw}: {err}");
    }
}

#[test]
fn named_kinds_are_this_platforms_numbers() {
    let named = [
        (SignalKind::interrupt(), libc::SIGINT),
        (SignalKind::terminate(), libc::SIGTERM),
        (SignalKind::hangup(), libc::SIGHUP),
        (SignalKind::quit(), libc::SIGQUIT),
        (SignalKind::user_defined1(), libc::SIGUSR1),
        (SignalKind::user_defined2(), libc::SIGUSR2),
        (SignalKind::child(), libc::SIGCHLD),
        (SignalKind::pipe(), libc::SIGPIPE),
        (SignalKind::alarm(), libc::SIGALRM),
        (SignalKind::window_change(), libc::SIGWINCH),
    ];
    for (kind, raw) in named {
        assert_eq!(kind.as_raw_value(), raw, "{kind:?}");
        assert_eq!(SignalKind::from_raw(raw), kind);
    }
}
