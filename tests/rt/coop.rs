//! Cooperative scheduling: `yield_now` lets the other tasks of the worker run, and a task
//! that finds its channel or socket always ready still yields after its budget, so that a
//! task queued behind it is not starved until the channel or socket runs dry.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::TcpListener;
use hiver_runtime::{unbounded, yield_now};

use crate::drivers::{drivers, runtime};

#[test]
fn yield_now_lets_the_next_task_run() {
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        let other_ran = Arc::new(AtomicBool::new(false));
        let task = {
            let seen = other_ran.clone();
            rt.spawn(async move {
                // Queued on this worker behind the running task: only a yield lets it run.
                let set = seen.clone();
                let other =
                    hiver_runtime::spawn_local(async move { set.store(true, Ordering::SeqCst) });
                let before = seen.load(Ordering::SeqCst);
                yield_now().await;
                let after = seen.load(Ordering::SeqCst);
                other.wait().await.unwrap();
                (before, after)
            })
        };
        let (before, after) = rt.block_on(task).unwrap().unwrap();
        assert!(
            !before,
            "{driver}: the other task had not run before the yield"
        );
        assert!(after, "{driver}: it ran during the yield");
    }
}

#[test]
fn an_always_ready_channel_does_not_starve_the_worker() {
    const ITEMS: usize = 100_000;
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        let (tx, rx) = unbounded::<usize>();
        for i in 0..ITEMS {
            tx.try_send(i).unwrap();
        }
        drop(tx);
        let flag = Arc::new(AtomicBool::new(false));
        let seen_at = Arc::new(AtomicUsize::new(usize::MAX));
        let consumer = {
            let (flag, seen_at) = (flag.clone(), seen_at.clone());
            rt.spawn(async move {
                // Queued on this worker behind the consumer, before it starts receiving.
                let other = hiver_runtime::spawn_local(async move {
                    flag.store(true, Ordering::SeqCst);
                });
                let mut n = 0;
                while rx.recv().await.is_ok() {
                    n += 1;
                    if other.is_finished() && seen_at.load(Ordering::SeqCst) == usize::MAX {
                        seen_at.store(n, Ordering::SeqCst);
                    }
                }
                n
            })
        };
        assert_eq!(rt.block_on(consumer).unwrap().unwrap(), ITEMS);
        assert!(flag.load(Ordering::SeqCst));
        let at = seen_at.load(Ordering::SeqCst);
        println!("{driver}: the other task ran after {at} of {ITEMS} receives");
        assert!(
            at < ITEMS / 10,
            "{driver}: the task queued behind the consumer ran only after {at} receives"
        );
    }
}

/// A task reading a TCP stream one byte at a time, whose receive queue holds more bytes than
/// the loop may read, still lets a task queued behind it on its worker run. On a readiness
/// driver every one of those reads is ready at its first poll (the socket stays readable),
/// so without the budget the loop would make all its reads first and fail; on io_uring the
/// same must hold whatever the reads wait for.
#[test]
fn an_always_ready_socket_does_not_starve_the_worker() {
    /// The reads the loop may make before it calls the other task starved.
    const LIMIT: usize = 16 * 1024;
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        let flag = Arc::new(AtomicBool::new(false));
        let reader = {
            let flag = flag.clone();
            rt.spawn(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                // A blocking connect: on loopback the kernel completes it from the backlog.
                let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
                let (mut stream, _) = listener.accept().await?;
                // More bytes than the loop may read, all in the reader's receive queue before
                // it starts: no read of the loop can find the socket empty.
                peer.set_write_timeout(Some(Duration::from_secs(30)))?;
                peer.write_all(&[7u8; LIMIT + 1])?;
                wait_until_received(&peer);
                // Queued on this worker behind the reader, before it starts reading.
                let other = hiver_runtime::spawn_local(async move {
                    flag.store(true, Ordering::SeqCst);
                });
                let mut byte = [0u8; 1];
                let mut reads = 0;
                while !other.is_finished() {
                    assert!(
                        reads < LIMIT,
                        "{driver}: the task queued behind the reader did not run in {LIMIT} reads"
                    );
                    assert_eq!(stream.read(&mut byte).await?, 1, "{driver}: read {reads}");
                    assert_eq!(byte, [7], "{driver}");
                    reads += 1;
                }
                drop(peer);
                std::io::Result::Ok(reads)
            })
        };
        let reads = rt
            .block_on(reader)
            .unwrap()
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert!(flag.load(Ordering::SeqCst), "{driver}");
        println!("{driver}: the other task ran after {reads} of at most {LIMIT} reads");
    }
}

/// Waits (bounded) until the kernel acknowledged every byte `peer` sent (`TIOCOUTQ` is 0):
/// they are all in the receiver's queue then.
fn wait_until_received(peer: &std::net::TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut unacked: libc::c_int = 0;
            // SAFETY: TIOCOUTQ writes one int through the pointer, which lives across the call.
            let rc = unsafe { libc::ioctl(peer.as_raw_fd(), libc::TIOCOUTQ, &mut unacked) };
            assert_eq!(rc, 0, "TIOCOUTQ: {}", std::io::Error::last_os_error());
            if unacked == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{unacked} bytes still unacknowledged after 10 s"
            );
            std::thread::yield_now();
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (peer, Instant::now());
}
