//! Case 23, panicking tasks: a `task_combinations` matrix (tokio's) with drop counters
//! (async-task's), per driver: every way to spawn (`spawn`, `spawn_local` on the
//! `block_on` thread, `spawn_on(1)`) x every outcome (output returned, panic in `poll`,
//! panic in the future's `Drop` when the runtime shuts down, panic in the output's `Drop`)
//! x every fate of the handle (awaited, dropped at once, kept until after the runtime is
//! dropped, then polled). Each combination runs on a fresh 2-worker runtime and checks:
//! the future is dropped exactly once, the output exactly once when one was made (by its
//! reader, or by the runtime for a dropped handle), never otherwise; what the handle
//! reports (the output, or the panic with its payload); the workers still run tasks after
//! the panic; and nothing aborts the process.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hiver_runtime::{spawn, spawn_local, spawn_on, yield_now, DriverType, JoinError, JoinHandle};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, quiet_intended_panics, runtime, serial, within, Watchdog,
    INTENDED,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    Spawn,
    SpawnLocal,
    SpawnOn1,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Output,
    PanicInPoll,
    PanicInFutureDropAtShutdown,
    PanicInOutputDrop,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    Awaited,
    Dropped,
    RuntimeDroppedFirst,
}

#[derive(Default)]
struct Counts {
    polls: AtomicU64,
    future_drops: AtomicU64,
    output_drops: AtomicU64,
}

/// The task's output: counts its drop, and panics in it if asked.
struct Out {
    counts: Arc<Counts>,
    panic: bool,
}

impl Drop for Out {
    fn drop(&mut self) {
        self.counts.output_drops.fetch_add(1, Ordering::SeqCst);
        if self.panic {
            panic!("{INTENDED}: output drop");
        }
    }
}

/// The task's future: yields once, then does what `outcome` says.
struct Fut {
    counts: Arc<Counts>,
    outcome: Outcome,
}

impl Future for Fut {
    type Output = Out;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        let n = self.counts.polls.fetch_add(1, Ordering::SeqCst);
        if n == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match self.outcome {
            Outcome::Output | Outcome::PanicInOutputDrop => Poll::Ready(Out {
                counts: self.counts.clone(),
                panic: self.outcome == Outcome::PanicInOutputDrop,
            }),
            Outcome::PanicInPoll => panic!("{INTENDED}: poll"),
            // Never woken again: pending until the runtime drops it.
            Outcome::PanicInFutureDropAtShutdown => Poll::Pending,
        }
    }
}

impl Drop for Fut {
    fn drop(&mut self) {
        self.counts.future_drops.fetch_add(1, Ordering::SeqCst);
        if self.outcome == Outcome::PanicInFutureDropAtShutdown {
            panic!("{INTENDED}: future drop");
        }
    }
}

fn payload(e: JoinError) -> String {
    assert!(e.is_panic(), "a panic, not {e}");
    let p = e.into_panic();
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Checks what a handle returned, consuming (dropping) the output.
fn check_result(r: Result<Out, JoinError>, outcome: Outcome, what: &str) {
    match outcome {
        Outcome::Output => {
            let out = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            drop(out);
        }
        Outcome::PanicInOutputDrop => {
            let out = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            // The reader drops it here: the panic is the reader's own.
            let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(out)));
            assert!(dropped.is_err(), "{what}: the output's drop panics");
        }
        Outcome::PanicInPoll => {
            assert_eq!(
                payload(r.err().expect("a panic")),
                format!("{INTENDED}: poll"),
                "{what}"
            )
        }
        Outcome::PanicInFutureDropAtShutdown => assert_eq!(
            payload(r.err().expect("a panic")),
            format!("{INTENDED}: future drop"),
            "{what}"
        ),
    }
}

fn run_one(driver: DriverType, how: How, outcome: Outcome, fate: Fate) {
    let what = format!("{driver}: {how:?} x {outcome:?} x {fate:?}");
    let counts = Arc::new(Counts::default());
    let mut rt = runtime(driver, 2);
    let fut = Fut {
        counts: counts.clone(),
        outcome,
    };
    let c = counts.clone();
    let w = what.clone();
    let kept: Option<JoinHandle<Out>> = rt
        .block_on(within(&what, async move {
            let h = match how {
                How::Spawn => spawn(fut),
                How::SpawnLocal => spawn_local(fut),
                How::SpawnOn1 => spawn_on(1, fut).unwrap(),
            };
            let forever = outcome == Outcome::PanicInFutureDropAtShutdown;
            match fate {
                Fate::Awaited if !forever => {
                    check_result(h.await, outcome, &w);
                    None
                }
                Fate::Awaited => {
                    // The task never ends: a waiter task awaits it and is itself dropped
                    // at shutdown, after or before the task.
                    spawn(async move {
                        let _ = h.await;
                        unreachable!("the task never completes");
                    });
                    while c.polls.load(Ordering::SeqCst) < 2 {
                        yield_now().await;
                    }
                    None
                }
                Fate::Dropped => {
                    drop(h);
                    // Wait until the task ran its course (or, for the endless one, is
                    // parked), then the workers run a next task.
                    while c.polls.load(Ordering::SeqCst) < 2 {
                        yield_now().await;
                    }
                    None
                }
                Fate::RuntimeDroppedFirst => {
                    if forever {
                        while c.polls.load(Ordering::SeqCst) < 2 {
                            yield_now().await;
                        }
                    } else {
                        while !h.is_finished() {
                            yield_now().await;
                        }
                    }
                    Some(h)
                }
            }
        }))
        .unwrap();
    // The workers (both) still run tasks after the panic.
    let alive = rt
        .block_on(async {
            let a = spawn_on(0, async { 1 }).unwrap().await.unwrap();
            let b = spawn_on(1, async { 2 }).unwrap().await.unwrap();
            a + b
        })
        .unwrap();
    assert_eq!(alive, 3, "{what}: the workers run the next tasks");
    {
        let _w = Watchdog::arm(
            format!("{what}: dropping the runtime"),
            Duration::from_secs(30),
        );
        drop(rt);
    }
    if let Some(mut h) = kept {
        // Outside any runtime, after it was dropped: the handle is ready.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(&mut h).poll(&mut cx) {
            Poll::Ready(r) => check_result(r, outcome, &what),
            Poll::Pending => {
                panic!("{what}: the handle is still pending after the runtime dropped")
            }
        }
        drop(h);
    }
    let made_output = matches!(outcome, Outcome::Output | Outcome::PanicInOutputDrop);
    assert_eq!(
        counts.future_drops.load(Ordering::SeqCst),
        1,
        "{what}: the future is dropped exactly once"
    );
    assert_eq!(
        counts.output_drops.load(Ordering::SeqCst),
        u64::from(made_output),
        "{what}: the output is dropped exactly once if made"
    );
}

#[test]
fn spawn_kinds_x_outcomes_x_handle_fates_drop_everything_once() {
    let _serial = serial();
    quiet_intended_panics();
    for driver in drivers() {
        let before = open_fds();
        let mut n = 0;
        for how in [How::Spawn, How::SpawnLocal, How::SpawnOn1] {
            for outcome in [
                Outcome::Output,
                Outcome::PanicInPoll,
                Outcome::PanicInFutureDropAtShutdown,
                Outcome::PanicInOutputDrop,
            ] {
                for fate in [Fate::Awaited, Fate::Dropped, Fate::RuntimeDroppedFirst] {
                    run_one(driver, how, outcome, fate);
                    n += 1;
                }
            }
        }
        assert_eq!(n, 36);
        println!("{driver}: {n} combinations, every drop count exact, no abort");
        assert_no_fd_leak(before, format_args!("{driver}: task matrix"));
    }
}
