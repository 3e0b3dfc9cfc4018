//! Listeners on the workers of two runtimes at once (io_uring and epoll here) both see a
//! delivery.

use std::sync::mpsc;

use hiver_runtime::signal::{signal, SignalKind};
use hiver_runtime::timeout;

use crate::support::{after_first_poll, drivers, raise, report, runtime, serial, LONG};

#[test]
fn listeners_on_two_runtimes_both_see_a_delivery() {
    let _serial = serial();
    let all = drivers();
    // io_uring and epoll where both exist; two kqueue runtimes elsewhere.
    let (first, last) = (all[0], all[all.len() - 1]);
    let mut runtimes = [runtime(first, 1), runtime(last, 1)];
    let (polled, first_polls) = mpsc::channel();
    let tasks: Vec<_> = runtimes
        .iter()
        .map(|rt| {
            let polled = polled.clone();
            let term = signal(SignalKind::terminate()).unwrap();
            // No timer in the task: once waiting, only the delivery's wake-up resumes it.
            rt.spawn(after_first_poll(report(term), move || {
                let _ = polled.send(());
            }))
        })
        .collect();
    for _ in &tasks {
        first_polls.recv_timeout(LONG).expect("both listeners wait");
    }
    raise(libc::SIGTERM);
    for (rt, task) in runtimes.iter_mut().zip(tasks) {
        let driver = rt.driver_type();
        let got = rt.block_on(timeout(LONG, task.wait())).unwrap();
        assert!(matches!(got, Ok(Ok((_, Some(()))))), "{driver}: {got:?}");
    }
}
