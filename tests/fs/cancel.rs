//! Cancel safety, as the `fs` module's table promises: a dropped `read_at` never writes
//! the caller's buffer and leaves the file readable (on io_uring the in-flight table
//! drains); a dropped cursor read loses no byte (its bytes are returned by the next reads);
//! a dropped cursor write still completes, in order; a dropped `write_at` or
//! `write_at_owned` that started still completes; a dropped `open` or `create` leaves no
//! descriptor open.
//!
//! A cursor read that really stays in flight needs a file whose reads wait: a FIFO opened
//! read-write (its reads block until a writer writes).

use std::future::{poll_fn, Future};
use std::io::Write;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use hiver_runtime::fs::{self, File, OpenOptions};
use hiver_runtime::DriverType;

use crate::support::{
    assert_no_fd_leak, drivers, first_diff, open_fds, pattern, run, serial, total, TempDir,
};

const DROPS: usize = 1000;

/// Polls `fut` exactly once.
async fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut fut = Some(fut);
    poll_fn(|cx| Poll::Ready(fut.take().expect("polled once").poll(cx))).await
}

#[test]
fn a_read_at_dropped_1000_times_leaves_the_buffer_and_the_file_intact() {
    const LEN: usize = 1 << 20;
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("drop-read-at");
        let path = dir.join("f");
        let (_, m) = run(driver, 1, "dropped read_at", async move {
            let data = pattern(LEN, 21);
            fs::write(&path, &data).await?;
            let f = File::open(&path).await?;
            let mut buf = vec![0xa5u8; 64 * 1024];
            let mut completed = 0;
            for i in 0..DROPS {
                let off = (i * 4099) % (LEN - buf.len());
                {
                    let mut read = pin!(f.read_at(&mut buf, off as u64));
                    if poll_once(read.as_mut()).await.is_ready() {
                        completed += 1;
                        continue;
                    }
                    // Mostly let the driver submit (and often complete) the read first;
                    // sometimes drop it before it reached the kernel.
                    if i % 4 != 3 {
                        hiver_runtime::yield_now().await;
                    }
                }
                // The read was dropped before it was polled to completion: the caller's
                // buffer was never written.
                assert!(
                    buf.iter().all(|&b| b == 0xa5),
                    "{driver}: drop {i}: the buffer was written after its read was dropped"
                );
            }
            assert!(
                completed < DROPS / 2,
                "{driver}: {completed} of {DROPS} reads were done at their first poll"
            );
            // The file reads back whole, by both kinds of call.
            let mut all = vec![0u8; LEN];
            f.read_exact_at(&mut all, 0).await?;
            assert!(all == data, "{driver}: the file after the drops");
            assert!(fs::read(&path).await? == data);
            Ok(())
        });
        if driver == DriverType::IOUring {
            let cancels = total(&m, |w| w.io_cancels);
            assert!(
                cancels >= 100,
                "{driver}: only {cancels} cancellations for {DROPS} dropped reads"
            );
        }
    }
}

/// io_uring only: a read of an empty FIFO waits in the kernel (its offset is ignored
/// there; the pool's `pread` would refuse it), so each of these reads is dropped while
/// really in flight. Their cancellations complete and the driver's in-flight table
/// drains.
#[test]
fn dropped_reads_in_flight_are_cancelled_and_the_in_flight_table_drains() {
    let _serial = serial();
    let driver = DriverType::IOUring;
    if !drivers().contains(&driver) {
        return;
    }
    let dir = TempDir::new("drain");
    let path = dir.join("fifo");
    make_fifo(&path);
    let before = crate::support::open_fds();
    let mut rt = crate::drivers::runtime(driver, 1);
    let task = rt.spawn(async move {
        let f = File::options().read(true).write(true).open(&path).await?;
        let mut buf = [0xa5u8; 16];
        for i in 0..DROPS {
            {
                let mut read = pin!(f.read_at(&mut buf, 0));
                assert!(poll_once(read.as_mut()).await.is_pending(), "drop {i}");
                hiver_runtime::yield_now().await;
            }
            assert_eq!(buf, [0xa5u8; 16], "drop {i}: the buffer was written");
        }
        Ok::<_, std::io::Error>(())
    });
    let joined = rt.block_on(task).expect("block_on");
    joined
        .expect("task")
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = rt.metrics();
        let in_flight = total(&m, |w| w.io_in_flight);
        if in_flight == 0 {
            let done = total(&m, |w| w.io_cancels_done);
            assert!(
                done >= DROPS as u64 / 2,
                "{driver}: {done} cancellations carried out for {DROPS} reads dropped in flight"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{driver}: {in_flight} operations still in flight 10 s after their futures were dropped"
        );
        std::thread::yield_now();
    }
    drop(rt);
    assert_eq!(crate::support::open_fds(), before, "{driver}: descriptors");
}

#[test]
fn a_cursor_read_dropped_1000_times_loses_no_byte() {
    const LEN: usize = 200_000;
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("drop-read");
        let path = dir.join("fifo");
        make_fifo(&path);
        let writer_path = path.clone();
        let (_, m) = run(driver, 1, "dropped cursor reads", async move {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .await?;
            let mut buf = [0u8; 4096];
            for i in 0..DROPS {
                let mut read = pin!(f.read(&mut buf));
                if let Poll::Ready(r) = poll_once(read.as_mut()).await {
                    panic!("{driver}: drop {i}: the read finished ({r:?}) with nothing written");
                }
                if i % 4 != 3 {
                    hiver_runtime::yield_now().await;
                }
            }
            // Now a writer sends the bytes: every one must arrive, once, in order.
            let writer = std::thread::spawn(move || {
                let mut w = std::fs::OpenOptions::new().write(true).open(&writer_path)?;
                w.write_all(&pattern(LEN, 5))
            });
            let mut got = Vec::with_capacity(LEN);
            while got.len() < LEN {
                let n = f.read(&mut buf).await?;
                assert!(n > 0, "{driver}: end of a FIFO that is open for writing");
                got.extend_from_slice(&buf[..n]);
            }
            writer.join().expect("writer thread")?;
            assert_eq!(got.len(), LEN, "{driver}");
            assert!(got == pattern(LEN, 5), "{driver}: the bytes, in order");
            Ok(())
        });
        if driver == DriverType::IOUring {
            let cancels = total(&m, |w| w.io_cancels);
            assert!(
                cancels >= 1,
                "{driver}: the dropped reads were cancelled in the kernel"
            );
        }
    }
}

/// Each write is polled once (with nothing left before it, so it starts: it is queued to
/// the ring or the pool) and dropped; then either `flush` waits for it, or a full write
/// follows it, which must land after it.
#[test]
fn a_cursor_write_dropped_after_it_started_still_completes_in_order() {
    const CHUNK: usize = 3000;
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("drop-write");
        let path = dir.join("f");
        run(driver, 1, "dropped cursor writes", async move {
            let mut f = File::create(&path).await?;
            let mut want = Vec::new();
            for i in 0..DROPS / 4 {
                let chunk = pattern(CHUNK, i as u8);
                want.extend_from_slice(&chunk);
                {
                    let mut write = pin!(f.write(&chunk));
                    if let Poll::Ready(r) = poll_once(write.as_mut()).await {
                        assert_eq!(r?, CHUNK, "{driver}");
                    }
                }
                if i % 2 == 0 {
                    f.flush().await?;
                } else {
                    let marker = format!("<{i}>");
                    f.write_all(marker.as_bytes()).await?;
                    want.extend_from_slice(marker.as_bytes());
                }
            }
            f.flush().await?;
            let got = fs::read(&path).await?;
            assert_eq!(
                got.len(),
                want.len(),
                "{driver}: every dropped write completed"
            );
            assert!(got == want, "{driver}: the writes, in order");
            Ok(())
        });
    }
}

/// `File::open` and `File::create` polled once (so the open is queued to the ring or handed
/// to the pool) and dropped, most after a yield (the kernel then often opened the file
/// already): every descriptor the kernel opened for them is closed. The count of open
/// descriptors is taken before, and waited for (bounded) once the drops are done: each
/// dropped open must end in the kernel or the pool and its descriptor be closed (on
/// io_uring by a `CLOSE` the driver submits), so the count comes back; a leaked one keeps
/// it above and fails the wait. `run` counts again after the runtime is dropped.
#[test]
fn an_open_or_create_dropped_in_flight_leaves_no_descriptor_open() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("drop-open");
        let (existing, created) = (dir.join("existing"), dir.join("created"));
        std::fs::write(&existing, b"kept").expect("write the file to open");
        run(driver, 1, "dropped opens", async move {
            let before = open_fds();
            let mut pending = 0;
            for i in 0..DROPS / 4 {
                {
                    let mut open = pin!(File::open(&existing));
                    if poll_once(open.as_mut()).await.is_pending() {
                        pending += 1;
                    }
                    // Mostly let the driver submit (and often complete) the open first;
                    // sometimes drop it before it reached the kernel.
                    if i % 4 != 3 {
                        hiver_runtime::yield_now().await;
                    }
                }
                {
                    let mut create = pin!(File::create(&created));
                    if poll_once(create.as_mut()).await.is_pending() {
                        pending += 1;
                    }
                    if i % 4 != 1 {
                        hiver_runtime::yield_now().await;
                    }
                }
            }
            assert!(
                pending >= DROPS / 4,
                "{driver}: only {pending} of {} opens were in flight when dropped",
                DROPS / 2
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while open_fds() != before {
                if Instant::now() >= deadline {
                    assert_no_fd_leak(before, format_args!("{driver}: 10 s after the drops"));
                }
                hiver_runtime::yield_now().await;
            }
            // The files are whole and usable.
            assert_eq!(fs::read(&existing).await?, b"kept", "{driver}");
            File::create(&created).await?;
            Ok(())
        });
    }
}

/// `write_at` and `write_at_owned` polled once (which starts them: the write is queued to
/// the ring or handed to the pool) and then dropped still complete: every chunk lands in
/// the file. The buffer lent to `write_at` is overwritten right after the drop: the
/// runtime wrote its own copy.
///
/// How the test waits for the dropped writes: nothing orders a later operation after them
/// (ring operations on one file run concurrently, and so do pool jobs), so it reads the
/// whole file again and again, yielding between reads, until it holds every chunk, for
/// 10 s at most; a write that never lands fails it.
#[test]
fn a_write_at_dropped_after_it_started_still_completes() {
    const CHUNK: usize = 4096;
    const WRITES: usize = 64;
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("drop-write-at");
        let path = dir.join("f");
        run(driver, 1, "dropped write_at", async move {
            let f = File::create(&path).await?;
            let mut want = vec![0u8; CHUNK * WRITES];
            let mut pending = 0;
            for i in 0..WRITES {
                let off = i * CHUNK;
                let chunk = pattern(CHUNK, i as u8 + 1);
                want[off..off + CHUNK].copy_from_slice(&chunk);
                if i % 2 == 0 {
                    let mut lent = chunk;
                    {
                        let mut write = pin!(f.write_at(&lent, off as u64));
                        match poll_once(write.as_mut()).await {
                            Poll::Ready(r) => assert_eq!(r?, CHUNK, "{driver}: write {i}"),
                            Poll::Pending => pending += 1,
                        }
                    }
                    lent.fill(0xee);
                } else {
                    let mut write = pin!(f.write_at_owned(chunk, off as u64));
                    match poll_once(write.as_mut()).await {
                        Poll::Ready((r, _)) => assert_eq!(r?, CHUNK, "{driver}: write {i}"),
                        Poll::Pending => pending += 1,
                    }
                }
            }
            assert!(
                pending >= WRITES / 2,
                "{driver}: only {pending} of {WRITES} writes were in flight when dropped"
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = fs::read(&path).await?;
                if got == want {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{driver}: 10 s after the drops the file ({} of {} bytes) differs at {:?}",
                    got.len(),
                    want.len(),
                    first_diff(&got, &want)
                );
                hiver_runtime::yield_now().await;
            }
            Ok(())
        });
    }
}

/// Makes a FIFO at `path`.
fn make_fifo(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in the path");
    // SAFETY: `c` is a NUL-terminated path that lives across the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
}
