//! File reads: a 256 MiB file, made once and then in the page cache (this measures the
//! runtimes' file paths, not the disk), read whole in 64 KiB chunks with 32 reads in
//! flight: 32 tasks, each reading its own contiguous 8 MiB stripe in order, one read at a
//! time. The file (or, for tokio::fs, one handle per task) is opened before the clock
//! starts; every chunk is checked for length and its first byte.
//!
//! Peers (the same worker count each):
//! - `hiver io_uring read_at`: `File::read_exact_at` into the task's buffer (the bytes go
//!   through a runtime buffer: one copy), one shared `File`;
//! - `hiver io_uring read_at_owned`: the kernel reads straight into the task's `Vec`;
//! - `hiver epoll read_at`: the same calls on the blocking pool (the epoll driver);
//! - `tokio::fs::File`: 32 handles (a tokio `File` has one operation in flight at a time),
//!   each seeked to its stripe once, then `read_exact` of each chunk (tokio runs each on
//!   its blocking pool and copies through its own buffer);
//! - `tokio spawn_blocking pread`: `std::os::unix::fs::FileExt::read_exact_at` in
//!   `tokio::task::spawn_blocking`, the task's buffer moved in and out (no copy).
//!
//! A second table gives MiB/s (the median round) and the ratio to `tokio::fs::File`.

use std::cell::RefCell;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_benches::{compare, median, tokio_multi_thread, workers, Measure, Peer, Round};
use hiver_runtime::{DriverType, Runtime};

const FILE_LEN: usize = 256 << 20;
const CHUNK: usize = 64 << 10;
const IN_FLIGHT: usize = 32;
const STRIPE: usize = FILE_LEN / IN_FLIGHT;
const CHUNKS: u64 = (FILE_LEN / CHUNK) as u64;

/// The byte at `offset` of the file: each 64 KiB chunk starts with a different one.
fn byte_at(offset: usize) -> u8 {
    ((offset / CHUNK) % 251) as u8
}

fn make_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("hiver-bench-fs-read-{}", std::process::id()));
    let mut data = vec![0u8; FILE_LEN];
    for (i, chunk) in data.chunks_mut(CHUNK).enumerate() {
        chunk.fill(byte_at(i * CHUNK));
    }
    std::fs::write(&path, &data).expect("write the 256 MiB bench file");
    path
}

fn check(buf: &[u8], offset: usize) {
    assert_eq!(buf.len(), CHUNK, "a whole chunk at {offset}");
    assert_eq!(buf[0], byte_at(offset), "the chunk at {offset}");
}

/// One hiver stripe: borrowed `read_exact_at` or owned `read_at_owned`.
async fn hiver_stripe(f: Arc<hiver_runtime::fs::File>, lane: usize, owned: bool) {
    let mut buf = vec![0u8; CHUNK];
    let mut off = lane * STRIPE;
    while off < (lane + 1) * STRIPE {
        if owned {
            buf.clear();
            while buf.len() < CHUNK {
                let at = (off + buf.len()) as u64;
                let (r, b) = f.read_at_owned(buf, at).await;
                buf = b;
                assert!(r.expect("read_at_owned") > 0, "end of file at {at}");
            }
        } else {
            f.read_exact_at(&mut buf, off as u64)
                .await
                .expect("read_exact_at");
        }
        check(&buf, off);
        off += CHUNK;
    }
}

fn hiver_round(rt: &mut Runtime, path: &Path, owned: bool) -> Duration {
    rt.block_on(async {
        let f = Arc::new(hiver_runtime::fs::File::open(path).await.expect("open"));
        let start = Instant::now();
        let lanes: Vec<_> = (0..IN_FLIGHT)
            .map(|lane| hiver_runtime::spawn(hiver_stripe(f.clone(), lane, owned)))
            .collect();
        for l in lanes {
            l.await.expect("hiver stripe");
        }
        start.elapsed()
    })
    .expect("hiver block_on")
}

async fn tokio_fs_stripe(mut f: tokio::fs::File, lane: usize) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; CHUNK];
    for k in 0..STRIPE / CHUNK {
        f.read_exact(&mut buf).await.expect("tokio read_exact");
        check(&buf, lane * STRIPE + k * CHUNK);
    }
}

fn tokio_fs_round(rt: &tokio::runtime::Runtime, path: &Path) -> Duration {
    rt.block_on(async {
        use tokio::io::AsyncSeekExt;
        let mut files = Vec::new();
        for lane in 0..IN_FLIGHT {
            let mut f = tokio::fs::File::open(path).await.expect("tokio open");
            f.seek(SeekFrom::Start((lane * STRIPE) as u64))
                .await
                .expect("tokio seek");
            files.push(f);
        }
        let start = Instant::now();
        let lanes: Vec<_> = files
            .into_iter()
            .enumerate()
            .map(|(lane, f)| tokio::spawn(tokio_fs_stripe(f, lane)))
            .collect();
        for l in lanes {
            l.await.expect("tokio stripe");
        }
        start.elapsed()
    })
}

async fn tokio_pread_stripe(f: Arc<std::fs::File>, lane: usize) {
    let mut buf = vec![0u8; CHUNK];
    for k in 0..STRIPE / CHUNK {
        let off = lane * STRIPE + k * CHUNK;
        let f = f.clone();
        buf = tokio::task::spawn_blocking(move || {
            std::os::unix::fs::FileExt::read_exact_at(&*f, &mut buf, off as u64).map(|()| buf)
        })
        .await
        .expect("tokio pool")
        .expect("pread");
        check(&buf, off);
    }
}

fn tokio_pread_round(rt: &tokio::runtime::Runtime, path: &Path) -> Duration {
    let f = Arc::new(std::fs::File::open(path).expect("open"));
    rt.block_on(async {
        let start = Instant::now();
        let lanes: Vec<_> = (0..IN_FLIGHT)
            .map(|lane| tokio::spawn(tokio_pread_stripe(f.clone(), lane)))
            .collect();
        for l in lanes {
            l.await.expect("tokio stripe");
        }
        start.elapsed()
    })
}

fn main() {
    let w = workers();
    // Two peers share it, one round at a time.
    let uring = RefCell::new(
        Runtime::builder()
            .worker_threads(w)
            .build()
            .expect("hiver runtime"),
    );
    let mut epoll = Runtime::builder()
        .worker_threads(w)
        .driver_type(DriverType::Epoll)
        .build()
        .expect("hiver epoll runtime");
    let driver = uring.borrow().driver_type().to_string();
    hiver_benches::banner("fs_read", &driver);
    if !hiver_benches::selected("fs/read") {
        return;
    }
    let tokio_rt = tokio_multi_thread(w);
    let path = make_file();
    let names = [
        format!("hiver {driver} read_at ({w} workers)"),
        format!("hiver {driver} read_at_owned ({w})"),
        format!("hiver epoll read_at (pool, {w})"),
        format!("tokio::fs::File x{IN_FLIGHT} ({w})"),
        format!("tokio spawn_blocking pread ({w})"),
    ];
    // Every round's time per peer (the first, the warm-up, is dropped below).
    let times = RefCell::new(vec![Vec::<Duration>::new(); names.len()]);
    let timed = |i: usize, d: Duration| {
        times.borrow_mut()[i].push(d);
        Round::time(d)
    };
    compare(
        &format!(
            "fs/read: a {} MiB file (page cache) in {} KiB chunks, {IN_FLIGHT} reads in flight",
            FILE_LEN >> 20,
            CHUNK >> 10
        ),
        Measure::Throughput { ops: CHUNKS },
        vec![
            Peer::new(names[0].clone(), || {
                timed(0, hiver_round(&mut uring.borrow_mut(), &path, false))
            }),
            Peer::new(names[1].clone(), || {
                timed(1, hiver_round(&mut uring.borrow_mut(), &path, true))
            }),
            Peer::new(names[2].clone(), || {
                timed(2, hiver_round(&mut epoll, &path, false))
            }),
            Peer::new(names[3].clone(), || {
                timed(3, tokio_fs_round(&tokio_rt, &path))
            }),
            Peer::new(names[4].clone(), || {
                timed(4, tokio_pread_round(&tokio_rt, &path))
            }),
        ],
    );
    let mib = (FILE_LEN >> 20) as f64;
    let rates: Vec<f64> = times
        .borrow()
        .iter()
        .map(|t| mib / median(&t[1.min(t.len())..]).as_secs_f64().max(1e-9))
        .collect();
    let tokio_fs = rates[3];
    println!("{:<38} {:>10} {:>14}", "peer", "MiB/s", "x tokio::fs");
    for (name, rate) in names.iter().zip(&rates) {
        println!("{name:<38} {rate:>10.0} {:>14.2}", rate / tokio_fs);
    }
    let _ = std::fs::remove_file(&path);
}
