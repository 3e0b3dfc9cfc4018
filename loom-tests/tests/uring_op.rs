//! The io_uring operation lifecycle (`src/driver/uring/op.rs`): a completion arriving on
//! the driver's thread on the other side of every transition the handle makes (poll with
//! a waker, cancel, adoption by the next read, detach). The result reaches the handle or
//! is released by exactly one side, never both, never neither; a waiting handle is always
//! woken.
#![cfg(loom)]

use std::future::poll_fn;

use hiver_loom_tests::support::model;
use hiver_runtime::__loom::uring_op::{Complete, Multishot, OpCell};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

fn driver_completes(cell: Arc<OpCell>) -> thread::JoinHandle<bool> {
    thread::spawn(move || match cell.complete(7, 42) {
        Complete::Released => true,
        Complete::Wake(w) => {
            if let Some(w) = w {
                w.wake();
            }
            false
        }
    })
}

#[test]
fn completion_reaches_a_waiting_handle() {
    model("uring op: completion vs poll", || {
        let releases = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(OpCell::new(releases.clone()));
        let driver = driver_completes(cell.clone());
        // Blocks (in loom's view) until woken: a lost wake-up is a deadlock loom reports.
        let res = loom::future::block_on(poll_fn(|cx| cell.poll(cx)));
        assert_eq!(res, 7);
        assert_eq!(cell.value(), 42, "the kernel's write is visible");
        assert!(!driver.join().unwrap(), "nobody detached: nothing released");
        assert_eq!(releases.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn completion_racing_detach_is_released_exactly_once() {
    model("uring op: completion vs detach", || {
        let releases = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(OpCell::new(releases.clone()));
        let driver = driver_completes(cell.clone());
        let detached = cell.detach();
        let released_by_driver = driver.join().unwrap();
        assert_eq!(releases.load(Ordering::SeqCst), 1, "released exactly once");
        match detached {
            None => assert!(!released_by_driver, "the handle released it"),
            Some(cancel) => {
                assert!(released_by_driver, "the driver released it");
                assert!(cancel, "the first detach asks for the cancel");
            }
        }
    });
}

#[test]
fn cancelled_operation_is_adopted_by_the_next_read() {
    model("uring op: cancel vs completion, then adoption", || {
        let releases = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(OpCell::new(releases.clone()));
        let driver = driver_completes(cell.clone());
        // The dropped read asks for a cancel (pointless if the CQE came) ...
        let asked = cell.cancel();
        // ... and the next read adopts the operation and waits for its final CQE.
        let res = loom::future::block_on(poll_fn(|cx| cell.poll(cx)));
        assert_eq!(
            (res, cell.value()),
            (7, 42),
            "the delivered bytes are not lost"
        );
        assert!(!cell.cancel(), "a cancel is asked for at most once");
        assert!(!driver.join().unwrap());
        assert_eq!(releases.load(Ordering::SeqCst), 0);
        let _ = asked;
    });
}

#[test]
fn detach_from_a_third_thread_while_the_handle_waits() {
    model("uring op: waiter, detach elsewhere, completion", || {
        let releases = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(OpCell::new(releases.clone()));
        // The handle polled once (registered its waker), then moved to another thread and
        // was dropped there while the completion arrives.
        assert!(cell
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
            .is_pending());
        let dropper = {
            let cell = cell.clone();
            thread::spawn(move || cell.detach())
        };
        let driver = driver_completes(cell.clone());
        let detached = dropper.join().unwrap();
        let by_driver = driver.join().unwrap();
        assert_eq!(releases.load(Ordering::SeqCst), 1);
        assert_eq!(detached.is_none(), !by_driver);
    });
}

#[test]
fn a_multishot_is_armed_once_at_a_time() {
    model("uring op: multishot arming race and re-arm", || {
        let m = Arc::new(Multishot::new());
        let other = {
            let m = m.clone();
            thread::spawn(move || m.try_arm())
        };
        let here = m.try_arm();
        let there = other.join().unwrap();
        assert!(here ^ there, "exactly one arms it");
        // The driver's final CQE ends it; the next accept arms it again.
        let ender = {
            let m = m.clone();
            thread::spawn(move || m.ended())
        };
        ender.join().unwrap();
        assert!(m.try_arm());
    });
}
