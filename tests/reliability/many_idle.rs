//! Case 10, many idle connections: M connections held idle in the server (one task each,
//! parked in a read) for a while, then one echo on every one of them; the RSS each idle
//! connection costs is printed (from `/proc/self/statm`, before the connections and while
//! they are idle).
//!
//! Both ends live in this process (the clients are blocking std sockets on the test
//! thread), so M is bounded by half the descriptor limit: M = 0.75 x hard `RLIMIT_NOFILE`
//! / 2 (7,500 with this machine's 20,000), at most 5,000 in debug builds. The full case
//! (15,000 for 60 s, the server alone in its process) is the soak program's.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::spawn;

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, raise_nofile, runtime, serial, Watchdog,
};

/// Connections made before waiting for the server to accept them (within its backlog).
const BATCH: usize = 256;
/// How long the connections stay idle.
const HOLD: Duration = Duration::from_secs(1);
/// The bound on each wait for the server (a lost connection is a failure, not a hang).
const WAIT: Duration = Duration::from_secs(30);

/// Resident pages x page size, from `/proc/self/statm`, in KiB.
fn statm_rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("statm resident field");
    // SAFETY: sysconf only reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page / 1024
}

/// Echoes one connection until end of stream; says `()` on `accepted` first, and `()` on
/// `ended` after the stream is dropped.
async fn idle_echo(
    mut s: TcpStream,
    accepted: mpsc::Sender<()>,
    ended: mpsc::Sender<()>,
    errors: Arc<AtomicU64>,
) {
    let _ = accepted.send(());
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    drop(s);
    let _ = ended.send(());
}

#[test]
fn many_idle_connections_are_held_then_all_echo() {
    let _serial = serial();
    let (_, hard) = crate::support::nofile_limits();
    // Capped: one client address has about 28,000 local ports (32768-60999), and a machine
    // whose hard limit is in the millions would otherwise ask for hundreds of thousands.
    let mut m = ((hard * 3 / 4 / 2).saturating_sub(256) as usize).min(10_000);
    if cfg!(debug_assertions) {
        m = m.min(5_000);
    }
    assert!(
        m >= 1_000,
        "RLIMIT_NOFILE hard limit {hard} leaves room for only {m} connections"
    );
    let _limit = raise_nofile(hard);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        let errors = Arc::new(AtomicU64::new(0));
        let (accepted_tx, accepted) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel();
        let addr = {
            let errors = errors.clone();
            rt.block_on(async move {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let addr = l.local_addr()?;
                drop(spawn(async move {
                    while let Ok((s, _)) = l.accept().await {
                        spawn(idle_echo(
                            s,
                            accepted_tx.clone(),
                            ended_tx.clone(),
                            errors.clone(),
                        ));
                    }
                }));
                Ok::<_, std::io::Error>(addr)
            })
            .unwrap()
            .unwrap()
        };
        let rss_before = statm_rss_kib();
        let mut clients = Vec::with_capacity(m);
        while clients.len() < m {
            let n = BATCH.min(m - clients.len());
            for _ in 0..n {
                let c = std::net::TcpStream::connect(addr)
                    .unwrap_or_else(|e| panic!("{driver}: connect {}: {e}", clients.len()));
                c.set_read_timeout(Some(WAIT)).unwrap();
                clients.push(c);
            }
            for _ in 0..n {
                accepted
                    .recv_timeout(WAIT)
                    .unwrap_or_else(|e| panic!("{driver}: the server accepts: {e}"));
            }
        }
        let m0 = rt.metrics();
        std::thread::sleep(HOLD); // the case: hold them idle
        let m1 = rt.metrics();
        let rss_idle = statm_rss_kib();
        let (w0, w1) = (&m0.workers()[0], &m1.workers()[0]);
        eprintln!(
            "{driver}: {m} idle connections held {HOLD:?}: RSS {rss_before} KiB -> {rss_idle} \
             KiB, {:.0} bytes per idle connection (both ends, runtime side dominating); \
             worker during the hold: {} polls, {} kernel entries",
            (rss_idle.saturating_sub(rss_before) * 1024) as f64 / m as f64,
            w1.polls - w0.polls,
            w1.kernel_entries - w0.kernel_entries,
        );
        // One echo on every connection: all requests out, then every reply, each checked.
        {
            let _w = Watchdog::arm("echo on every idle connection", Duration::from_secs(120));
            for (i, c) in clients.iter_mut().enumerate() {
                c.write_all(&(i as u64).to_le_bytes())
                    .unwrap_or_else(|e| panic!("{driver}: write on connection {i}: {e}"));
            }
            for (i, c) in clients.iter_mut().enumerate() {
                let mut back = [0u8; 8];
                c.read_exact(&mut back)
                    .unwrap_or_else(|e| panic!("{driver}: echo on connection {i}: {e}"));
                assert_eq!(u64::from_le_bytes(back), i as u64, "{driver}: echo {i}");
            }
        }
        drop(clients);
        for i in 0..m {
            ended
                .recv_timeout(WAIT)
                .unwrap_or_else(|e| panic!("{driver}: server connection {i} ends: {e}"));
        }
        assert_eq!(errors.load(Ordering::Relaxed), 0, "{driver}: server errors");
        {
            let _w = Watchdog::arm("dropping the runtime", Duration::from_secs(30));
            drop(rt);
        }
        assert_no_fd_leak(before, format_args!("{driver}: many idle connections"));
    }
}
