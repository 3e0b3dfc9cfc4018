//! A delivery reaches every listener that exists, on the `block_on` thread and on workers,
//! once per stream however many deliveries came since the last `recv`, and no later
//! listener.

use std::pin::pin;

use hiver_runtime::signal::{signal, SignalKind};
use hiver_runtime::{spawn, timeout};

use crate::support::{
    deliver, drivers, finish, kill_self, poll_once, quiet, raise, ready, report, runtime, serial,
    waiting, LONG,
};

#[test]
fn a_signal_sent_to_the_process_is_received() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        // Waiting on a worker.
        rt.block_on(async {
            let user1 = signal(SignalKind::user_defined1()).unwrap();
            let send = || kill_self(libc::SIGUSR1);
            deliver(user1, send, &format!("{driver}: on a worker")).await;
        })
        .unwrap();
        // Waiting on the block_on thread.
        let got = rt
            .block_on(async {
                let mut user1 = signal(SignalKind::user_defined1()).unwrap();
                let mut recv = pin!(user1.recv());
                poll_once(recv.as_mut()).await;
                kill_self(libc::SIGUSR1);
                timeout(LONG, recv).await
            })
            .unwrap();
        assert_eq!(got, Ok(Some(())), "{driver}: on the block_on thread");
        // Created and raised on a worker: the handler runs there.
        let got = rt
            .block_on(async {
                spawn(async {
                    let mut user1 = signal(SignalKind::user_defined1()).unwrap();
                    raise(libc::SIGUSR1);
                    user1.recv().await
                })
                .wait()
                .await
            })
            .unwrap()
            .unwrap();
        assert_eq!(got, Some(()), "{driver}: raised on a worker");
    }
}

#[test]
fn every_listener_sees_a_delivery_and_a_later_one_does_not() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        rt.block_on(async {
            let kind = SignalKind::user_defined2();
            let a = waiting(report(signal(kind).unwrap())).await;
            let b = waiting(report(signal(kind).unwrap())).await;
            raise(libc::SIGUSR2);
            let (_, got) = finish(a, &format!("{driver}: a")).await;
            assert_eq!(got, Some(()), "{driver}: a");
            let (_, got) = finish(b, &format!("{driver}: b")).await;
            assert_eq!(got, Some(()), "{driver}: b");
            // The delivery was dispatched (a and b saw it): a new listener does not see it.
            let mut late = signal(kind).unwrap();
            quiet(&mut late, &format!("{driver}: late")).await;
            let send = || raise(libc::SIGUSR2);
            deliver(late, send, &format!("{driver}: late")).await;
        })
        .unwrap();
    }
}

#[test]
fn deliveries_between_two_recvs_coalesce_into_one() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        rt.block_on(async {
            let kind = SignalKind::hangup();
            let mut listener = signal(kind).unwrap();
            // `probe` proves each delivery dispatched before the next is raised: each raise
            // runs the handler once, and each handler run is dispatched exactly once.
            let mut probe = signal(kind).unwrap();
            for i in 0..3 {
                let send = || raise(libc::SIGHUP);
                probe = deliver(probe, send, &format!("{driver}: delivery {i}")).await;
            }
            // Three deliveries since `listener` was created: one report, then nothing.
            ready(&mut listener, &format!("{driver}: coalesced")).await;
            quiet(&mut listener, &format!("{driver}: a second report")).await;
            // The stream still works.
            let send = || raise(libc::SIGHUP);
            deliver(listener, send, &format!("{driver}: after the quiet")).await;
        })
        .unwrap();
    }
}

#[test]
fn a_signal_raised_on_another_thread_wakes_a_listener_on_a_worker() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        rt.block_on(async {
            let alarm = signal(SignalKind::alarm()).unwrap();
            let send = || std::thread::spawn(|| raise(libc::SIGALRM)).join().unwrap();
            deliver(alarm, send, &format!("{driver}")).await;
        })
        .unwrap();
    }
}

#[test]
fn a_listener_dropped_while_waiting_leaves_the_others_working() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        rt.block_on(async {
            let kind = SignalKind::window_change();
            // `first` waits (the only waiter, so the set's lock-free slot), then goes away.
            let mut first = signal(kind).unwrap();
            poll_once(pin!(first.recv())).await;
            let second = waiting(report(signal(kind).unwrap())).await;
            drop(first);
            let third = waiting(report(signal(kind).unwrap())).await;
            raise(libc::SIGWINCH);
            for (task, what) in [(second, "second"), (third, "third")] {
                let (_, got) = finish(task, &format!("{driver}: {what}")).await;
                assert_eq!(got, Some(()), "{driver}: {what}");
            }
        })
        .unwrap();
    }
}
