//! `Handle`: spawning from threads the runtime does not own, `current`/`try_current`, and a
//! handle of one runtime used inside another.

use std::io;

use hiver_runtime::{Handle, JoinHandle, Runtime};

use super::support::{drivers, runtime};

fn worker_name() -> String {
    std::thread::current().name().unwrap_or("").to_string()
}

#[test]
fn foreign_threads_spawn_through_a_handle_on_every_driver() {
    for d in drivers() {
        let mut rt = runtime(d, 2);
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let handle = rt.handle();
                std::thread::spawn(move || {
                    (0..1_000u64)
                        .map(|i| {
                            let n = t * 1_000 + i;
                            let job = async move { (n, worker_name()) };
                            if i % 2 == 0 {
                                handle.spawn(job)
                            } else {
                                handle.spawn_on((i % 4 / 2) as usize, job).unwrap()
                            }
                        })
                        .collect::<Vec<JoinHandle<(u64, String)>>>()
                })
            })
            .collect();
        let handles: Vec<_> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let results = rt
            .block_on(async move {
                let mut out = Vec::new();
                for h in handles {
                    out.push(h.await.unwrap());
                }
                out
            })
            .unwrap();
        let mut seen: Vec<u64> = results.iter().map(|(n, _)| *n).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..4_000).collect::<Vec<_>>(),
            "{d}: every task ran once"
        );
        // spawn_on(0) and spawn_on(1) put half the odd ones on each worker.
        for w in 0..2 {
            let name = format!("hiver-worker-{w}");
            let on = results.iter().filter(|(_, t)| *t == name).count();
            assert!(on >= 1_000, "{d}: {on} tasks on {name}");
        }
        assert!(
            results.iter().all(|(_, t)| t.starts_with("hiver-worker-")),
            "{d}: a task ran off the workers"
        );
    }
}

#[test]
fn current_inside_try_current_outside() {
    assert!(Handle::try_current().is_none());
    let e = std::panic::catch_unwind(Handle::current).unwrap_err();
    let msg = e
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        msg.contains("Handle::current must be called from a hiver runtime"),
        "{msg}"
    );
    for d in drivers() {
        let mut rt = runtime(d, 3);
        let (in_block_on, in_task) = rt
            .block_on(async {
                let outer = Handle::current();
                let inner = hiver_runtime::spawn(async {
                    let h = Handle::current();
                    // A spawn through the current handle from a worker runs.
                    h.spawn(async { 5 }).await.unwrap() + h.worker_threads()
                })
                .await
                .unwrap();
                (outer.worker_threads(), inner)
            })
            .unwrap();
        assert_eq!(in_block_on, 3, "{d}");
        assert_eq!(in_task, 8, "{d}");
    }
}

#[test]
fn a_handle_of_one_runtime_spawns_onto_it_from_another() {
    for d in drivers() {
        let a = Runtime::builder()
            .worker_threads(1)
            .driver_type(d)
            .thread_name("rt-a")
            .build()
            .unwrap();
        let mut b = Runtime::builder()
            .worker_threads(1)
            .driver_type(d)
            .thread_name("rt-b")
            .build()
            .unwrap();
        let to_a = a.handle();
        let names = b
            .block_on(async move {
                hiver_runtime::spawn(async move {
                    let here = worker_name();
                    let there = to_a.spawn(async { worker_name() }).await.unwrap();
                    (here, there)
                })
                .await
                .unwrap()
            })
            .unwrap();
        assert_eq!(names, ("rt-b-0".to_string(), "rt-a-0".to_string()), "{d}");
    }
}

#[test]
fn spawn_on_a_missing_worker_is_invalid_input() {
    let rt = runtime(drivers()[0], 2);
    let e = rt.handle().spawn_on(2, async {}).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("no worker 2"), "{e}");
}

#[test]
fn a_handle_is_send_sync_clone_and_debug() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    check::<Handle>();
    let rt = runtime(drivers()[0], 2);
    let s = format!("{:?}", rt.handle());
    assert!(s.starts_with("Handle") && s.contains("workers: 2"), "{s}");
}
