//! The epoll shim on the real kernel: readiness, edge triggering, interest changes, closes,
//! timeouts and the eventfd waker. The fd-leak check lives alone in `epoll_leak.rs`, because
//! the tests here run in parallel threads that open and close descriptors.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hiver_sys::epoll::{Event, Events, Interest, Poller, Token, Waker};
use rustix::io::FdFlags;

/// Long enough never to expire when an event is due; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);

static_assertions::assert_impl_all!(Poller: Send, Sync);
static_assertions::assert_impl_all!(Waker: Send, Sync);
static_assertions::assert_impl_all!(Events: Send);
static_assertions::assert_impl_all!(Event: Send, Sync, Copy);

/// A connected pair of non-blocking Unix stream sockets.
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Waits for events that are already due, and returns them.
fn wait_due(poller: &Poller, events: &mut Events) -> Vec<Event> {
    let n = poller.wait(events, Some(PATIENCE)).unwrap();
    assert_eq!(n, events.len());
    events.iter().collect()
}

/// Polls without blocking and returns the number of events.
fn poll_now(poller: &Poller, events: &mut Events) -> usize {
    poller.wait(events, Some(Duration::ZERO)).unwrap()
}

#[test]
fn readable_after_peer_writes() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, mut b) = pair();
    poller.add(&a, Token(7), Interest::READABLE).unwrap();
    assert_eq!(poll_now(&poller, &mut events), 0, "nothing to read yet");

    b.write_all(b"x").unwrap();
    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].token(), Token(7));
    assert!(got[0].is_readable() && !got[0].is_writable());
    assert!(!got[0].is_read_closed() && !got[0].is_error());
}

#[test]
fn writable_on_fresh_socket() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, _b) = pair();
    poller.add(&a, Token(3), Interest::WRITABLE).unwrap();

    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].token(), Token(3));
    assert!(got[0].is_writable() && !got[0].is_readable() && !got[0].is_write_closed());
}

#[test]
fn edge_triggered_reports_each_new_edge_once() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, mut b) = pair();
    poller.add(&a, Token(1), Interest::READABLE).unwrap();

    b.write_all(b"one").unwrap();
    assert_eq!(wait_due(&poller, &mut events).len(), 1);
    // Not drained, but no new data: an edge-triggered registration stays quiet.
    assert_eq!(poll_now(&poller, &mut events), 0);

    b.write_all(b"two").unwrap();
    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1, "new data is a new edge");
    assert!(got[0].is_readable());
    assert_eq!(poll_now(&poller, &mut events), 0);
}

#[test]
fn modify_changes_interest_and_token() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, mut b) = pair();
    poller.add(&a, Token(1), Interest::READABLE).unwrap();
    assert_eq!(
        poll_now(&poller, &mut events),
        0,
        "writable, but not asked for"
    );

    poller.modify(&a, Token(2), Interest::WRITABLE).unwrap();
    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].token(), Token(2));
    assert!(got[0].is_writable() && !got[0].is_readable());

    b.write_all(b"x").unwrap();
    assert_eq!(
        poll_now(&poller, &mut events),
        0,
        "readable, but no longer asked for"
    );
    poller.modify(&a, Token(3), Interest::READABLE).unwrap();
    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].token(), Token(3));
    assert!(got[0].is_readable() && !got[0].is_writable());
}

#[test]
fn modify_of_unregistered_fd_is_not_found() {
    let poller = Poller::new().unwrap();
    let (a, _b) = pair();
    let err = poller.modify(&a, Token(1), Interest::READABLE).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn delete_stops_events() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, mut b) = pair();
    poller
        .add(&a, Token(1), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    assert_eq!(wait_due(&poller, &mut events).len(), 1, "writable at first");

    poller.delete(&a).unwrap();
    b.write_all(b"x").unwrap();
    assert_eq!(poll_now(&poller, &mut events), 0);
    let err = poller.delete(&a).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn read_closed_after_peer_shuts_down_writing() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, b) = pair();
    poller.add(&a, Token(5), Interest::READABLE).unwrap();
    assert_eq!(poll_now(&poller, &mut events), 0);

    b.shutdown(Shutdown::Write).unwrap();
    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].token(), Token(5));
    assert!(got[0].is_readable() && got[0].is_read_closed());
    assert!(!got[0].is_write_closed() && !got[0].is_error());
}

#[test]
fn both_sides_closed_after_peer_drops() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, b) = pair();
    poller.add(&a, Token(6), Interest::READABLE).unwrap();

    drop(b);
    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1);
    assert!(got[0].is_read_closed() && got[0].is_write_closed());
}

#[test]
fn tokens_tell_sources_apart() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a1, mut b1) = pair();
    let (a2, mut b2) = pair();
    poller.add(&a1, Token(10), Interest::READABLE).unwrap();
    poller.add(&a2, Token(20), Interest::READABLE).unwrap();

    b1.write_all(b"x").unwrap();
    b2.write_all(b"y").unwrap();
    let mut tokens: Vec<Token> = wait_due(&poller, &mut events)
        .iter()
        .map(Event::token)
        .collect();
    tokens.sort();
    assert_eq!(tokens, [Token(10), Token(20)]);
}

#[test]
fn capacity_bounds_one_wait_and_the_rest_follow() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(1);
    let (a1, _b1) = pair();
    let (a2, _b2) = pair();
    poller.add(&a1, Token(1), Interest::WRITABLE).unwrap();
    poller.add(&a2, Token(2), Interest::WRITABLE).unwrap();

    let first = wait_due(&poller, &mut events);
    let second = wait_due(&poller, &mut events);
    assert_eq!((first.len(), second.len()), (1, 1));
    assert_ne!(first[0].token(), second[0].token());
    assert_eq!(poll_now(&poller, &mut events), 0);
}

#[test]
fn wait_clears_previous_events() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, _b) = pair();
    poller.add(&a, Token(1), Interest::WRITABLE).unwrap();
    assert_eq!(wait_due(&poller, &mut events).len(), 1);
    assert!(!events.is_empty());

    assert_eq!(poll_now(&poller, &mut events), 0);
    assert!(events.is_empty());
    assert_eq!(events.iter().count(), 0);
}

#[test]
fn timeout_is_honoured() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let timeout = Duration::from_millis(20);

    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(timeout)).unwrap(), 0);
    let took = start.elapsed();
    assert!(
        took >= timeout,
        "returned after {took:?}, before the {timeout:?} timeout"
    );
    assert!(
        took < timeout * 10,
        "took {took:?} for a {timeout:?} timeout"
    );
}

#[test]
fn waker_wakes_a_wait_without_timeout_from_another_thread() {
    let poller = Poller::new().unwrap();
    let waker = Waker::new(&poller, Token(99)).unwrap();
    let (done, result) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        let n = poller.wait(&mut events, None).unwrap();
        let got: Vec<Event> = events.iter().collect();
        done.send((n, got)).unwrap();
    });

    waker.wake().unwrap();
    let (n, got) = result
        .recv_timeout(PATIENCE)
        .expect("the waker did not wake the wait");
    waiter.join().unwrap();
    assert_eq!(n, 1);
    assert_eq!(got[0].token(), Token(99));
    assert!(got[0].is_readable());
}

#[test]
fn waker_wakes_repeatedly_and_coalesces() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(&poller, Token(4)).unwrap();
    assert_eq!(poll_now(&poller, &mut events), 0, "no wake, no event");

    for _ in 0..3 {
        waker.wake().unwrap();
        let got = wait_due(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token(), Token(4));
        assert!(got[0].is_readable());
        assert_eq!(poll_now(&poller, &mut events), 0);
    }

    for _ in 0..10_000 {
        waker.wake().unwrap();
    }
    assert_eq!(
        wait_due(&poller, &mut events).len(),
        1,
        "wakes coalesce into one event"
    );
    assert_eq!(poll_now(&poller, &mut events), 0);
}

#[test]
fn waker_resets_a_full_counter() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(&poller, Token(8)).unwrap();
    // Fill the eventfd counter to its maximum, 0xffff_ffff_ffff_fffe: a plain write of 1 would
    // now fail with EAGAIN.
    let full = (u64::MAX - 1).to_ne_bytes();
    rustix::io::write(waker.as_fd(), &full).unwrap();
    assert_eq!(wait_due(&poller, &mut events).len(), 1);

    waker.wake().unwrap();
    let got = wait_due(&poller, &mut events);
    assert_eq!(got.len(), 1, "the wake past a full counter still fires");
    assert_eq!(got[0].token(), Token(8));
    let mut counter = [0_u8; 8];
    rustix::io::read(waker.as_fd(), &mut counter).unwrap();
    assert_eq!(
        u64::from_ne_bytes(counter),
        1,
        "the full counter was reset, then 1 added"
    );
}

#[test]
fn dropped_waker_leaves_the_poller() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let waker = Waker::new(&poller, Token(2)).unwrap();
    waker.wake().unwrap();
    drop(waker);
    assert_eq!(poll_now(&poller, &mut events), 0);
}

#[test]
fn poller_and_waker_are_close_on_exec() {
    let poller = Poller::new().unwrap();
    let waker = Waker::new(&poller, Token(0)).unwrap();
    assert!(rustix::io::fcntl_getfd(poller.as_fd())
        .unwrap()
        .contains(FdFlags::CLOEXEC));
    assert!(rustix::io::fcntl_getfd(waker.as_fd())
        .unwrap()
        .contains(FdFlags::CLOEXEC));
}

#[test]
fn events_are_data_to_read_after_the_wait() {
    // Readiness says "try now": the read after a readable event must not block.
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, mut b) = pair();
    poller.add(&a, Token(1), Interest::READABLE).unwrap();
    b.write_all(b"hello").unwrap();
    assert_eq!(wait_due(&poller, &mut events).len(), 1);
    let mut buf = [0_u8; 16];
    assert_eq!(a.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
}
