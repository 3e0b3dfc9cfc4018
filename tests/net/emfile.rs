//! `accept` when the process is out of descriptors, on each driver (RELIABILITY.md 3.11):
//! with 50 clients waiting in the listener's backlog, `accept` returns `EMFILE` (promptly,
//! again and again: no hang, no crash, no connection lost); while the test then waits, with
//! the connections still pending and no descriptor free, the driver does not spin (its
//! counters, read before and after a 200 ms timer on the same worker, barely move); and
//! once descriptors are available again all 50 connections are accepted, each the client
//! that waited, and each works.
//!
//! How: the clients (blocking std sockets) connect while descriptors are plentiful (their
//! handshakes complete in the backlog); then the soft `RLIMIT_NOFILE` is lowered to the
//! lowest free descriptor number, so that no new descriptor can be made; a guard puts the
//! limit back even if the test fails. The accepting task runs on the runtime's worker, whose
//! counters `Runtime::metrics` reports; it and the test thread hand over through channels.
//! Nothing else may open descriptors meanwhile: the binary-wide lock is held.

use std::collections::HashSet;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

use hiver_runtime::io::TcpListener;
use hiver_runtime::{sleep, unbounded, WorkerMetrics};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, runtime, serial, set_nofile_soft, within, NofileGuard,
};

/// Clients waiting while descriptors run out.
const CLIENTS: usize = 50;
/// `accept` calls made while saturated, each expected to be `EMFILE`.
const TRIES: usize = 3;
/// The wait, on a timer of the accepting worker, during which the driver must stay calm.
const WAIT: Duration = Duration::from_millis(200);
/// The most the worker's counters may grow during [`WAIT`]: a timer's park and wake-up
/// take a handful; a driver that retried the accept or kept being woken by the pending
/// connections would take thousands.
const CALM: u64 = 20;
/// The bound on the test thread's waits for the worker.
const HANDOVER: Duration = Duration::from_secs(30);

/// The lowest descriptor number not in use (where the next descriptor would go).
fn lowest_free_fd() -> u64 {
    let probe = std::fs::File::open("/dev/null").expect("open /dev/null");
    probe.as_raw_fd() as u64
}

fn is_emfile(r: &io::Result<SocketAddr>) -> bool {
    matches!(r, Err(e) if e.raw_os_error() == Some(libc::EMFILE))
}

/// What the worker reports to the test thread.
enum Step {
    Bound(SocketAddr),
    /// The `accept` results while saturated.
    Refused(Vec<io::Result<SocketAddr>>),
    Waited,
}

fn growth(a: &WorkerMetrics, b: &WorkerMetrics) -> [(&'static str, u64); 4] {
    [
        ("kernel entries", b.kernel_entries - a.kernel_entries),
        ("io submitted", b.io_submitted - a.io_submitted),
        ("io completed", b.io_completed - a.io_completed),
        ("polls", b.polls - a.polls),
    ]
}

#[test]
fn accept_returns_emfile_without_spinning_then_every_waiting_connection() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        let (steps_tx, steps) = mpsc::channel::<Step>();
        let (go_tx, go) = unbounded::<()>();
        let (restored_tx, restored) = unbounded::<()>();
        let server = rt.spawn(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            steps_tx.send(Step::Bound(listener.local_addr()?)).unwrap();
            go.recv().await.expect("the test says go");
            let mut refused = Vec::new();
            for _ in 0..TRIES {
                let r = within("accept under EMFILE", listener.accept()).await;
                refused.push(r.map(|(_, a)| a));
            }
            steps_tx.send(Step::Refused(refused)).unwrap();
            sleep(WAIT).await;
            steps_tx.send(Step::Waited).unwrap();
            restored.recv().await.expect("the test restores the limit");
            let mut accepted = Vec::new();
            for _ in 0..CLIENTS {
                let (mut stream, peer) = within("accept after EMFILE", listener.accept()).await?;
                assert_eq!(stream.peer_addr()?, peer);
                stream.write_all(b"after EMFILE").await?;
                accepted.push((stream, peer));
            }
            Ok::<_, io::Error>(accepted)
        });
        let next = || {
            steps
                .recv_timeout(HANDOVER)
                .expect("the worker's next step")
        };
        let Step::Bound(addr) = next() else {
            panic!("bound first")
        };
        let mut clients: Vec<std::net::TcpStream> = (0..CLIENTS)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        for c in &clients {
            c.set_read_timeout(Some(HANDOVER)).unwrap();
        }

        let (refused, calm) = {
            let _restore = NofileGuard::new();
            set_nofile_soft(lowest_free_fd()).expect("lower RLIMIT_NOFILE");
            go_tx.try_send(()).unwrap();
            let Step::Refused(refused) = next() else {
                panic!("refused second")
            };
            let m0 = rt.metrics().workers()[0].clone();
            let Step::Waited = next() else {
                panic!("waited third")
            };
            let m1 = rt.metrics().workers()[0].clone();
            (refused, growth(&m0, &m1))
            // `_restore` puts the limit back here, before any assertion.
        };
        restored_tx.try_send(()).unwrap();
        let accepted = rt
            .block_on(within("the accepting task", server))
            .unwrap()
            .expect("accepting task")
            .unwrap_or_else(|e| panic!("{driver}: {e}"));

        println!(
            "{driver}: during {WAIT:?} saturated with {CLIENTS} connections pending: {calm:?}"
        );
        for (i, r) in refused.iter().enumerate() {
            assert!(is_emfile(r), "{driver}: accept {i} while saturated: {r:?}");
        }
        for (what, n) in calm {
            assert!(
                n <= CALM,
                "{driver}: {what} grew by {n} in {WAIT:?} while saturated: the driver spins"
            );
        }
        // All 50 were accepted, each a client that waited, each working.
        let peers: HashSet<SocketAddr> = accepted.iter().map(|(_, p)| *p).collect();
        let waiting: HashSet<SocketAddr> =
            clients.iter().map(|c| c.local_addr().unwrap()).collect();
        assert_eq!(
            peers, waiting,
            "{driver}: the connections accepted after EMFILE"
        );
        for c in &mut clients {
            let mut buf = [0u8; 12];
            // The bytes are in the client's receive queue: this read does not block.
            c.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"after EMFILE", "{driver}");
        }
        drop((accepted, clients));
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}
