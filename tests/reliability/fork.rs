//! Item 10, `fork()` after the runtime started, with an operation in flight (a server
//! task's read). The child does not touch the inherited runtime (documented unusable in
//! the child): it checks that the parent's io_uring rings are not mapped in it
//! (`MADV_DONTFORK`), builds a fresh runtime and echoes over it, and reports through a
//! pipe. The parent's echo, started before the fork, then finishes intact. Every
//! descriptor the runtime opened is close-on-exec.

use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, DriverType, Runtime};

use crate::load::Rng;
use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

const LEN: usize = 1 << 20;

fn fds() -> Vec<RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Lines of /proc/self/maps that map an io_uring instance.
fn ring_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("io_uring"))
        .count()
}

fn is_cloexec(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags != -1 && flags & libc::FD_CLOEXEC != 0
}

/// The child's work: no inherited ring mapped; a fresh runtime echoes.
fn child_body(driver: DriverType) -> io::Result<()> {
    let rings = ring_mappings();
    if rings != 0 {
        return Err(io::Error::other(format!(
            "{rings} inherited io_uring mappings"
        )));
    }
    let mut rt = Runtime::builder()
        .worker_threads(1)
        .driver_type(driver)
        .build()?;
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let mut c = TcpStream::connect(l.local_addr()?).await?;
        let (mut s, _) = l.accept().await?;
        let echo = spawn(async move {
            let mut b = vec![0u8; 65536];
            s.read_exact(&mut b).await?;
            s.write_all(&b).await?;
            Ok::<_, io::Error>(())
        });
        let mut msg = vec![0u8; 65536];
        Rng::new(7).fill(&mut msg);
        c.write_all(&msg).await?;
        let mut back = vec![0u8; msg.len()];
        c.read_exact(&mut back).await?;
        echo.await.map_err(|e| io::Error::other(e.to_string()))??;
        if back != msg {
            return Err(io::Error::other("the child's echo differs"));
        }
        Ok(())
    })?
}

/// Runs in the forked child: never returns.
fn child(driver: DriverType, report: RawFd) -> ! {
    let r = std::panic::catch_unwind(|| child_body(driver));
    let (msg, code) = match r {
        Ok(Ok(())) => ("ok".to_string(), 0),
        Ok(Err(e)) => (format!("child error: {e}"), 1),
        Err(_) => ("child panicked".to_string(), 2),
    };
    // SAFETY: `report` is the pipe's write end, `msg` a live buffer; _exit skips the
    // parent's destructors and atexit handlers, which the child must not run.
    unsafe {
        libc::write(report, msg.as_ptr().cast(), msg.len());
        libc::_exit(code)
    }
}

/// Forks; the child runs [`child`]. Returns the child's report and its exit status.
fn fork_child(driver: DriverType) -> (String, i32) {
    let mut p = [0; 2];
    // SAFETY: `p` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child only runs `child`, which builds its own runtime and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        child(driver, p[1]);
    }
    // SAFETY: both ends are ours; the write end is closed here so that EOF comes when
    // the child exits.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    drop(write_end);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::fs::File::from(read_end).read_to_string(&mut s);
        let _ = tx.send(s);
    });
    let report = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(s) => s,
        Err(_) => {
            // SAFETY: `pid` is our child; SIGKILL ends it (and its pipe end).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            "the child did not finish within 60 s (a hang)".to_string()
        }
    };
    reader.join().unwrap();
    let mut status = 0;
    // SAFETY: `status` is writable; `pid` is our child, reaped once here.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    (report, status)
}

#[test]
fn fork_after_start_child_builds_its_own_runtime_parent_carries_on() {
    let _serial = serial();
    for driver in drivers() {
        let before_fds = fds();
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let (mut client, server) = rt
            .block_on(within("set up", async {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let c = TcpStream::connect(l.local_addr()?).await?;
                let (mut s, _) = l.accept().await?;
                // The server task's read is in flight across the fork.
                let server = spawn(async move {
                    let mut b = vec![0u8; LEN];
                    s.read_exact(&mut b).await?;
                    s.write_all(&b).await?;
                    Ok::<_, io::Error>(())
                });
                Ok::<_, io::Error>((c, server))
            }))
            .unwrap()
            .unwrap();
        if driver == DriverType::IOUring {
            let start = Instant::now();
            while rt.metrics().workers().iter().all(|w| w.io_in_flight == 0) {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "the read is in flight"
                );
                std::thread::yield_now();
            }
            assert!(
                ring_mappings() > 0,
                "the parent maps its rings (the check can fail)"
            );
        }
        for fd in fds().into_iter().filter(|fd| !before_fds.contains(fd)) {
            // The listing's own descriptor may be among them, already closed: skip it.
            if is_open_now(fd) {
                assert!(
                    is_cloexec(fd),
                    "{driver}: fd {fd} ({}) is not close-on-exec",
                    what(fd)
                );
            }
        }

        let (report, status) = fork_child(driver);
        assert_eq!(report, "ok", "{driver}: the child's report");
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{driver}: {status}"
        );

        rt.block_on(within("parent echo after the fork", async {
            let mut msg = vec![0u8; LEN];
            Rng::new(11).fill(&mut msg);
            let mut back = vec![0u8; LEN];
            client.write_all(&msg).await?;
            client.read_exact(&mut back).await?;
            assert!(back == msg, "{driver}: the parent's echo is intact");
            server.await.expect("server task")?;
            Ok::<_, io::Error>(())
        }))
        .unwrap()
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(client);
        drop(rt);
        println!("{driver}: child echoed on a fresh runtime; parent's echo intact");
        assert_no_fd_leak(before, format_args!("{driver}: fork"));
    }
}

fn is_open_now(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

fn what(fd: RawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
