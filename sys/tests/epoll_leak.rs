//! No file descriptor outlives the epoll `Poller` and `Waker` that own it. A binary of its
//! own with a single test, so that no other test opens descriptors while it counts them.
#![cfg(target_os = "linux")]

use std::os::unix::net::UnixStream;
use std::time::Duration;

use hiver_sys::epoll::{Events, Interest, Poller, Token, Waker};

/// The number of open descriptors of this process (the directory handle included, the same
/// way both times).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn pollers_and_wakers_close_their_descriptors() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut events = Events::with_capacity(4);
    let before = open_fds();

    for i in 0..100 {
        let poller = Poller::new().unwrap();
        let waker = Waker::new(&poller, Token(i)).unwrap();
        poller.add(&a, Token(i), Interest::WRITABLE).unwrap();
        waker.wake().unwrap();
        assert_eq!(
            poller
                .wait(&mut events, Some(Duration::from_secs(10)))
                .unwrap(),
            2
        );
        assert!(
            open_fds() >= before + 2,
            "a live poller and waker hold two descriptors"
        );
    }

    assert_eq!(open_fds(), before);
}
