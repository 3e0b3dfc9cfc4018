//! With a `tracing` subscriber at DEBUG, runtime events show: the driver and worker count
//! at build, worker start and stop, shutdown; a panicking task is an ERROR event. Its own
//! binary: the subscriber is process-global.

use hiver_runtime::{spawn, Runtime};

#[path = "common/log_buf.rs"]
mod log_buf;
use log_buf::Buf;

#[test]
fn runtime_events_show_at_debug() {
    let buf = Buf::default();
    let w = buf.clone();
    // The guide's "Enable Runtime Logging", writing to a buffer instead of stdout.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_target(true)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .init();
    let mut runtime = Runtime::builder().worker_threads(2).build().unwrap();
    runtime
        .block_on(async {
            let e = spawn(async { panic!("logged") }).await.unwrap_err();
            assert!(e.is_panic());
        })
        .unwrap();
    drop(runtime);
    let log = buf.text();
    for needle in [
        "hiver runtime built",
        "workers=2",
        if cfg!(target_os = "linux") {
            "driver=io_uring"
        } else {
            "driver=kqueue"
        },
        "worker started",
        "worker stopped",
        "hiver runtime shut down",
        "ERROR",
        "task panicked",
    ] {
        assert!(
            log.contains(needle),
            "{needle:?} missing from the DEBUG log:\n{log}"
        );
    }
    assert!(!log.contains("TRACE"), "hot-path events are TRACE only");
}
