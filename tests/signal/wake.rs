//! A delivery wakes the waker `poll_recv` registered, with no runtime at all: the
//! dispatching thread does the waking.

use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};

use hiver_runtime::signal::{signal, SignalKind};

use crate::support::{raise, serial, LONG};

/// A waker that reports each wake on a channel.
struct Report(mpsc::Sender<()>);

impl Wake for Report {
    fn wake(self: Arc<Self>) {
        let _ = self.0.send(());
    }
}

#[test]
fn a_delivery_wakes_the_registered_waker_outside_any_runtime() {
    let _serial = serial();
    let (tx, woken) = mpsc::channel();
    let waker = Waker::from(Arc::new(Report(tx)));
    let mut cx = Context::from_waker(&waker);
    let mut quit = signal(SignalKind::quit()).unwrap();
    assert!(quit.poll_recv(&mut cx).is_pending(), "nothing was sent yet");
    raise(libc::SIGQUIT);
    woken
        .recv_timeout(LONG)
        .expect("the delivery wakes the waker");
    assert_eq!(quit.poll_recv(&mut cx), Poll::Ready(Some(())));
    assert!(
        quit.poll_recv(&mut cx).is_pending(),
        "one delivery, one report"
    );
}
