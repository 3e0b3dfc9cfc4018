//! The park/unpark handshake: a wake that races the worker going to sleep is never lost.
#![cfg(loom)]

use std::sync::Arc;

use hiver_loom_tests::support::model;
use hiver_runtime::__loom::{spawn_with_id, Inbox, Park, TestQueue};
use loom::sync::{Condvar, Mutex};
use loom::thread;

/// A stand-in driver: park blocks until unpark (an unpark before park is remembered, as
/// an eventfd write is).
#[derive(Default)]
struct Driver {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl Driver {
    fn park(&self) {
        let mut p = self.pending.lock().unwrap();
        while !*p {
            p = self.cv.wait(p).unwrap();
        }
        *p = false;
    }

    fn unpark(&self) {
        *self.pending.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

#[test]
fn no_lost_wakeup() {
    model("park: worker parks vs remote push + notify", || {
        let q = Arc::new(TestQueue::default());
        let inbox = Arc::new(Inbox::new());
        let park = Arc::new(Park::new());
        let driver = Arc::new(Driver::default());
        let waker = {
            let (inbox, park, driver, q) = (inbox.clone(), park.clone(), driver.clone(), q.clone());
            thread::spawn(move || {
                let (t, h) = spawn_with_id(q, async {}, 7);
                drop(h);
                inbox.push(t).ok().unwrap();
                if park.notify() {
                    driver.unpark();
                }
            })
        };
        // The worker loop: it must see the task (a lost wake-up deadlocks the model).
        let got = loop {
            park.reset();
            let batch = inbox.take_all();
            if let Some(t) = batch.first() {
                break t.id();
            }
            if park.try_park() {
                driver.park();
            }
        };
        assert_eq!(got, 7);
        waker.join().unwrap();
    });
}

#[test]
fn a_burst_of_wakes_unparks_once() {
    model("park: two notifiers, one parked worker", || {
        let park = Arc::new(Park::new());
        park.reset();
        assert!(park.try_park());
        let notifiers: Vec<_> = (0..2)
            .map(|_| {
                let park = park.clone();
                thread::spawn(move || park.notify())
            })
            .collect();
        let unparks = notifiers
            .into_iter()
            .filter(|_| true)
            .map(|t| t.join().unwrap())
            .filter(|&b| b)
            .count();
        assert_eq!(unparks, 1, "exactly one notifier wakes the driver");
    });
}
