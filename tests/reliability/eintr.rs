//! Case 21, EINTR and stops.
//! (1) A no-op `SIGUSR1` handler installed without `SA_RESTART`, then a std thread
//!     `tgkill`s every worker thread and the `block_on` thread, round-robin, 10,000 times a
//!     second in all, for 2 s (20,000 signals; 0.5 s in debug), while 4 echo clients run checked round trips and a
//!     task runs 1 ms timers: no user-visible error (any error fails the test), every echo
//!     byte-exact, the timers keep firing. The handler counts its runs: the signals really
//!     interrupted the threads (the test fails if none was handled).
//! (2) SIGSTOP / SIGCONT: a forked child per driver arms timers, tells the parent, is
//!     stopped (seen in state `T`) for 1.5 s and continued: every timer fires late (never
//!     early), nothing panics, the child exits 0.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use hiver_runtime::io::TcpListener;
use hiver_runtime::{sleep, spawn, spawn_on, DriverType, Runtime};

use crate::forked::fork;
use crate::load::{echo_client, serve_echo, Budget, EchoStats};
use crate::support::{
    assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, within, Watchdog,
};

static HANDLED: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigusr1(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// Installs the no-op handler, without `SA_RESTART`; the guard restores the old action.
struct Handler(libc::sigaction);

impl Handler {
    fn install() -> Handler {
        // SAFETY: zeroed sigaction structs are valid; `new` names an extern "C" handler
        // that only touches an atomic (async-signal-safe); `old` is writable.
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as usize;
            new.sa_flags = 0; // no SA_RESTART: blocking calls fail with EINTR
            libc::sigemptyset(&mut new.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(libc::SIGUSR1, &new, &mut old), 0);
            Handler(old)
        }
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        // SAFETY: restores the action saved by `install`.
        unsafe { libc::sigaction(libc::SIGUSR1, &self.0, std::ptr::null_mut()) };
    }
}

fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

#[test]
fn signals_without_sa_restart_at_10khz_cause_no_user_visible_error() {
    let _serial = serial();
    let run_for = Duration::from_millis(scaled(2000, 500));
    for driver in drivers() {
        let before = open_fds();
        let handler = Handler::install();
        let handled_before = HANDLED.load(Ordering::Relaxed);
        let mut rt = runtime(driver, 2);
        // The worker threads' ids, each read on its worker, and the block_on thread's.
        let mut tids = rt
            .block_on(async {
                let mut tids = Vec::new();
                for w in 0..2 {
                    tids.push(spawn_on(w, async { gettid() }).unwrap().await.unwrap());
                }
                tids
            })
            .unwrap();
        tids.push(gettid());
        let stop = Arc::new(AtomicBool::new(false));
        let budget = Budget::new(u64::MAX, None);
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let signaller = {
            let (stop, budget, tids) = (stop.clone(), budget.clone(), tids.clone());
            std::thread::spawn(move || {
                // Start once the echo runs, so that the signals land during it.
                started_rx.recv().unwrap();
                // SAFETY: getpid cannot fail.
                let pid = unsafe { libc::getpid() };
                let start = Instant::now();
                let mut sent = 0u64;
                // One signal per 100 µs of elapsed time (10 kHz in all, round-robin over
                // the threads), caught up after each short pause.
                while start.elapsed() < run_for && !stop.load(Ordering::Relaxed) {
                    let due = (start.elapsed().as_micros() / 100) as u64 + 1;
                    while sent < due {
                        let tid = tids[(sent % tids.len() as u64) as usize];
                        // SAFETY: tgkill to a thread of this process, whose SIGUSR1
                        // handler is installed; no memory is involved.
                        let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                        assert_eq!(r, 0, "tgkill: {}", std::io::Error::last_os_error());
                        sent += 1;
                    }
                    // Pacing (provoking the fault, not synchronising).
                    std::thread::sleep(Duration::from_micros(50));
                }
                budget.stop();
                sent
            })
        };
        let (stats, ticks) = rt
            .block_on(within("echo under signals", async move {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let addr = l.local_addr()?;
                let errors = Arc::new(AtomicU64::new(0));
                let server = spawn(serve_echo(l, errors.clone()));
                let clients: Vec<_> = (0..4)
                    .map(|i| spawn(echo_client(addr, 21 + i, 16 * 1024, budget.clone())))
                    .collect();
                let ticking = Arc::new(AtomicBool::new(true));
                let t = ticking.clone();
                let timers = spawn(async move {
                    let mut n = 0u64;
                    while t.load(Ordering::Relaxed) {
                        sleep(Duration::from_millis(1)).await;
                        n += 1;
                    }
                    n
                });
                started_tx.send(()).unwrap();
                let mut stats = EchoStats::default();
                for c in clients {
                    stats.merge(&c.await.expect("client task")?);
                }
                ticking.store(false, Ordering::Relaxed);
                let ticks = timers.await.expect("timer task");
                server.abort();
                assert_eq!(errors.load(Ordering::SeqCst), 0, "server-side echo errors");
                Ok::<_, std::io::Error>((stats, ticks))
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: a user-visible error under signals: {e}"));
        stop.store(true, Ordering::Relaxed);
        let sent = signaller.join().expect("signaller");
        {
            let _w = Watchdog::arm(
                format!("{driver}: drop after signals"),
                Duration::from_secs(30),
            );
            drop(rt);
        }
        // Any signal still pending on this thread is delivered at this syscall's return,
        // before the old action comes back.
        let handled = HANDLED.load(Ordering::Relaxed) - handled_before;
        drop(handler);
        println!(
            "{driver}: {sent} SIGUSR1 sent to {} threads in {run_for:?}, {handled} handled; \
             {} round trips, {} bytes verified; {ticks} timer ticks",
            tids.len(),
            stats.round_trips,
            stats.bytes_verified
        );
        assert_eq!(stats.corrupt, 0, "{driver}: corrupt echoes");
        assert!(stats.round_trips > 0, "{driver}: no round trip ran");
        assert!(ticks > 0, "{driver}: the timers stopped");
        assert!(
            sent > 0 && handled > 0,
            "{driver}: no signal was handled ({sent} sent)"
        );
        assert_no_fd_leak(before, format_args!("{driver}: signals"));
    }
}

/// The state letter of process `pid` (/proc/<pid>/stat's third field).
fn state(pid: libc::pid_t) -> char {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    s.rfind(')')
        .and_then(|i| s[i + 1..].trim_start().chars().next())
        .unwrap_or('?')
}

const TIMERS: u32 = 20;
/// Longer than the longest timer, which the stop must land before: the timers are long
/// enough (1 s) that a loaded machine's delay between "armed" and the stop does not matter.
const STOPPED: Duration = Duration::from_millis(1500);

/// The child: arms `TIMERS` sleeps of 1,000-1,095 ms, says so through `ready`, waits for them.
fn stop_child(driver: DriverType, ready: libc::c_int) -> Result<String, String> {
    let mut rt = Runtime::builder()
        .worker_threads(2)
        .driver_type(driver)
        .build()
        .map_err(|e| e.to_string())?;
    let r = rt.block_on(async move {
        let armed = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..TIMERS)
            .map(|i| {
                let armed = armed.clone();
                spawn(async move {
                    let d = Duration::from_millis(1_000 + 5 * u64::from(i));
                    let s = sleep(d);
                    armed.fetch_add(1, Ordering::SeqCst);
                    s.await;
                    (d, start.elapsed())
                })
            })
            .collect();
        while armed.load(Ordering::SeqCst) < u64::from(TIMERS) {
            hiver_runtime::yield_now().await;
        }
        // SAFETY: `ready` is the pipe's write end, the byte a live local.
        unsafe { libc::write(ready, [1u8].as_ptr().cast(), 1) };
        let mut late = Vec::new();
        for t in tasks {
            let (d, took) = t.await.map_err(|e| e.to_string())?;
            if took < d {
                return Err(format!("a {d:?} sleep fired after {took:?}: early"));
            }
            late.push(took);
        }
        Ok::<_, String>(late)
    });
    let late = r.map_err(|e| e.to_string())??;
    let max = late.iter().max().copied().unwrap_or_default();
    if max < STOPPED {
        return Err(format!(
            "the last timer fired after {max:?}: the stop did not delay it"
        ));
    }
    Ok(format!(
        "{driver}: {TIMERS} timers fired, never early, the last after {max:?}"
    ))
}

#[test]
fn sigstop_then_sigcont_timers_fire_late_child_exits_zero() {
    let _serial = serial();
    for driver in drivers() {
        let mut p = [0; 2];
        // SAFETY: `p` has room for the two descriptors pipe2 writes.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let ready_w = p[1];
        let child = fork(move || stop_child(driver, ready_w));
        // SAFETY: both ends are ours; the write end closes so that a dead child means EOF.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
        drop(w);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut b = [0u8; 1];
            let n = std::fs::File::from(r).read(&mut b).unwrap_or(0);
            let _ = tx.send(n);
        });
        let n = rx.recv_timeout(Duration::from_secs(30)).unwrap_or(0);
        assert_eq!(n, 1, "{driver}: the child never armed its timers");
        child.signal(libc::SIGSTOP);
        let t = Instant::now();
        while state(child.pid) != 'T' {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{driver}: the child did not stop"
            );
            std::thread::yield_now();
        }
        // The fault itself: the child stays stopped while its timers' deadlines pass.
        std::thread::sleep(STOPPED);
        child.signal(libc::SIGCONT);
        let report = child.expect_ok(&format!("{driver}: stopped child"), Duration::from_secs(60));
        println!("{report}");
    }
}
