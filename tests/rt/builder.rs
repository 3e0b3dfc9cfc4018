//! Every builder option, with its effect.

use std::time::{Duration, Instant};

use hiver_runtime::driver::DriverConfig;
use hiver_runtime::{spawn, DriverType, Runtime, RuntimeConfig};

use super::support::yield_now;

#[test]
fn worker_threads_and_thread_name() {
    let mut rt = Runtime::builder()
        .worker_threads(3)
        .thread_name("my-worker")
        .build()
        .unwrap();
    assert_eq!(rt.worker_threads(), 3);
    let names = rt
        .block_on(async {
            let mut names = Vec::new();
            for i in 0..3 {
                let h = hiver_runtime::spawn_on(i, async {
                    std::thread::current().name().unwrap().to_string()
                });
                names.push(h.unwrap().await.unwrap());
            }
            names
        })
        .unwrap();
    assert_eq!(names, ["my-worker-0", "my-worker-1", "my-worker-2"]);
}

#[test]
fn default_worker_count_is_the_available_parallelism() {
    let rt = Runtime::new().unwrap();
    assert_eq!(
        rt.worker_threads(),
        std::thread::available_parallelism().unwrap().get()
    );
}

#[test]
fn nonsense_is_refused_with_a_reason() {
    let e = Runtime::builder().worker_threads(0).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("worker_threads"), "{e}");
    let e = Runtime::builder().queue_size(0).build().unwrap_err();
    assert!(e.to_string().contains("queue_size"), "{e}");
    let e = Runtime::builder().io_entries(0).build().unwrap_err();
    assert!(e.to_string().contains("io_entries"), "{e}");
    #[cfg(target_os = "linux")]
    {
        let e = Runtime::builder()
            .driver_type(DriverType::Kqueue)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("kqueue"), "{e}");
    }
}

#[test]
fn queue_size_overflows_without_losing_tasks() {
    let mut rt = Runtime::builder()
        .worker_threads(1)
        .queue_size(16)
        .build()
        .unwrap();
    let n = rt
        .block_on(async {
            // Spawned from the worker itself, so they all land in its local queue.
            hiver_runtime::spawn_on(0, async {
                let hs: Vec<_> = (0..1000).map(|i| spawn(async move { i })).collect();
                let mut n = 0;
                for h in hs {
                    n += h.await.unwrap();
                }
                n
            })
            .unwrap()
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(n, (0..1000).sum::<i32>());
    let overflows = rt.metrics().workers()[0].local_overflows;
    assert!(
        overflows > 0,
        "1000 tasks into a 16-slot queue must overflow"
    );
    let mut big = Runtime::builder()
        .worker_threads(1)
        .queue_size(4096)
        .build()
        .unwrap();
    big.block_on(async {
        hiver_runtime::spawn_on(0, async {
            let hs: Vec<_> = (0..1000).map(|i| spawn(async move { i })).collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .unwrap()
        .await
        .unwrap()
    })
    .unwrap();
    assert_eq!(big.metrics().workers()[0].local_overflows, 0);
}

#[test]
fn driver_type_is_honoured() {
    for d in super::support::drivers() {
        let rt = Runtime::builder()
            .worker_threads(1)
            .driver_type(d)
            .build()
            .unwrap();
        assert_eq!(rt.driver_type(), d);
    }
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    if cfg!(target_os = "linux") {
        assert_eq!(
            rt.driver_type(),
            DriverType::IOUring,
            "Auto picks io_uring where it works"
        );
    }
}

#[test]
fn io_entries_above_the_kernel_max_is_refused_below_it_rounded() {
    for n in [32769, u32::MAX] {
        let e = Runtime::builder()
            .worker_threads(1)
            .io_entries(n)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{n}: {e}");
        assert!(e.to_string().contains("32768"), "{n}: {e}");
    }
    let mut rt = Runtime::builder()
        .worker_threads(1)
        .io_entries(32768)
        .build()
        .unwrap();
    rt.block_on(async {}).unwrap();
    let mut rt = Runtime::builder()
        .worker_threads(1)
        .io_entries(3)
        .build()
        .unwrap();
    rt.block_on(async {}).unwrap();
}

fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the comm field.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ = 100
}

#[test]
fn parking_idles_and_spinning_burns() {
    // Runs in a child process so that other tests' CPU does not count.
    if std::env::var_os("HIVER_PARK_CHILD").is_none() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "builder::parking_idles_and_spinning_burns",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("HIVER_PARK_CHILD", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        return;
    }
    let idle = {
        let _rt = Runtime::builder().worker_threads(2).build().unwrap();
        let t0 = cpu_time();
        std::thread::sleep(Duration::from_secs(2));
        cpu_time() - t0
    };
    let spin = {
        let _rt = Runtime::builder()
            .worker_threads(1)
            .enable_parking(false)
            .build()
            .unwrap();
        let t0 = cpu_time();
        std::thread::sleep(Duration::from_secs(1));
        cpu_time() - t0
    };
    println!("idle 2 workers for 2 s: {idle:?} CPU; 1 spinning worker for 1 s: {spin:?} CPU");
    assert!(
        idle < Duration::from_millis(100),
        "an idle runtime used {idle:?} of CPU in 2 s"
    );
    // A spinning worker takes a whole core when it can; the other tests of this binary
    // share the two cores meanwhile, so only a small fraction of one is required.
    assert!(
        spin > Duration::from_millis(150),
        "a spinning worker used only {spin:?} in 1 s"
    );
}

#[test]
fn park_timeout_bounds_a_park() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .park_timeout(Duration::from_millis(10))
        .build()
        .unwrap();
    let t0 = Instant::now();
    while rt.metrics().workers()[0].parks < 20 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "parks: {:?}",
            rt.metrics()
        );
        std::thread::yield_now();
    }
    let quiet = Runtime::builder().worker_threads(1).build().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        quiet.metrics().workers()[0].parks <= 2,
        "without a timeout an idle worker parks once: {:?}",
        quiet.metrics()
    );
}

#[test]
fn config_replaces_every_field() {
    let mut config = RuntimeConfig::default();
    config.driver_type = DriverType::Epoll;
    config.driver_io = DriverConfig::builder().entries(64).build();
    config.worker_threads = Some(1);
    config.thread_name = "cfg".into();
    let mut rt = Runtime::builder()
        .worker_threads(5)
        .thread_name("lost")
        .config(config)
        .build()
        .unwrap();
    assert_eq!(rt.worker_threads(), 1);
    assert_eq!(rt.driver_type(), DriverType::Epoll);
    let name = rt
        .block_on(async {
            spawn(async { std::thread::current().name().unwrap().to_string() })
                .await
                .unwrap()
        })
        .unwrap();
    assert_eq!(name, "cfg-0");
}

#[test]
fn the_guides_driver_config_example_builds() {
    let driver_config = DriverConfig::builder()
        .entries(2048) // SQ/CQ size (rounded to next power of 2)
        .submit_wait(true) // Wait for completion on submit (blocking mode)
        .cpu_affinity(0) // Pin driver thread to CPU core 0
        .defer_wakeup(true) // Enable deferred task wake-up
        .max_ops_per_fd(64) // Max concurrent operations per file descriptor
        .build();
    let mut config = RuntimeConfig::default();
    config.driver_type = DriverType::IOUring;
    config.driver_io = driver_config;
    let mut runtime = Runtime::builder().config(config).build().unwrap();
    runtime.block_on(async { yield_now().await }).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn cpu_affinity_pins_workers_starting_at_the_core() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let mut config = RuntimeConfig::default();
    config.worker_threads = Some(2);
    config.driver_io = DriverConfig::builder().cpu_affinity(1).build();
    let mut rt = Runtime::builder().config(config).build().unwrap();
    let allowed = rt
        .block_on(async {
            let mut v = Vec::new();
            for i in 0..2 {
                v.push(
                    hiver_runtime::spawn_on(i, async {
                        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
                        status
                            .lines()
                            .find(|l| l.starts_with("Cpus_allowed_list"))
                            .unwrap()
                            .to_string()
                    })
                    .unwrap()
                    .await
                    .unwrap(),
                );
            }
            v
        })
        .unwrap();
    assert!(
        allowed[0].ends_with(&format!("\t{}", 1 % cores)),
        "{allowed:?}"
    );
    assert!(
        allowed[1].ends_with(&format!("\t{}", 2 % cores)),
        "{allowed:?}"
    );
}

/// The SQ sizes of this process's io_uring instances, from `/proc/self/fdinfo`.
#[cfg(target_os = "linux")]
fn ring_sizes() -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/fdinfo").unwrap().flatten() {
        if let Ok(info) = std::fs::read_to_string(e.path()) {
            // The kernel shows the SQ mask (entries - 1) of io_uring instances.
            if let Some(line) = info.lines().find(|l| l.starts_with("SqMask:")) {
                let mask = line["SqMask:".len()..].trim().trim_start_matches("0x");
                out.push(u32::from_str_radix(mask, 16).unwrap() + 1);
            }
        }
    }
    out
}

#[cfg(target_os = "linux")]
#[test]
fn io_entries_sizes_the_rings_rounded_up() {
    let rt = Runtime::builder()
        .worker_threads(2)
        .driver_type(DriverType::IOUring)
        .io_entries(600)
        .build()
        .unwrap();
    let sizes = ring_sizes();
    assert!(
        sizes.iter().filter(|&&s| s == 1024).count() >= 2,
        "two 1024-entry rings (600 rounded up): {sizes:?}"
    );
    drop(rt);
    let mut config = RuntimeConfig::default();
    config.worker_threads = Some(1);
    config.driver_type = DriverType::IOUring;
    config.driver_io = DriverConfig::builder().entries(3).build();
    let rt = Runtime::builder().config(config).build().unwrap();
    assert!(
        ring_sizes().contains(&4),
        "DriverConfig::entries(3) rounds to 4: {:?}",
        ring_sizes()
    );
    drop(rt);
}
