//! Cross-worker wake latency: round trips of a `Baton` whose every wake goes to another
//! thread that has nothing else to do (so it is usually parked), timed one by one; the
//! table gives the median and p99 of the round-trip time (two wakes each).
//!
//! Workloads:
//! - `wake/task-to-task`: a task on worker 1 wakes a task on worker 0, which wakes it back;
//!   threads wherever the kernel puts them (both runtimes' default);
//! - `wake/task-to-task/cpus-apart`: the same, each side's thread pinned to its own CPU
//!   while it runs (every wake is a wake of an idle CPU);
//! - `wake/task-to-task/same-cpu`: the same, both threads pinned to CPU 0 (every wake is a
//!   context switch on one CPU);
//! - `wake/thread-to-task`: a plain thread (not in any runtime, parking with
//!   `std::thread::park`) wakes a task on a worker, which wakes the thread back; and its
//!   `cpus-apart` variant.
//!
//! tokio's multi-thread runtime places the tasks itself (and a wake from a worker moves the
//! woken task to that worker), so it is shown alongside one tokio current-thread runtime per
//! thread, which keeps the two sides apart as hiver does; the `cross` column gives how often
//! the two sides were on different threads. A tokio task can move between workers, so the
//! pinned variants leave tokio's multi-thread runtime out.

use hiver_benches::{
    compare, hiver, hiver_pingpong, ping_blocking, pong, tokio_current_thread, tokio_multi_thread,
    tokio_pair_pingpong, tokio_pingpong, workers, Baton, Cpus, Measure, Peer,
};

const TRIPS: u64 = 4_000;

fn label(cpus: Cpus) -> &'static str {
    match cpus {
        Cpus::Free => "",
        Cpus::Apart => "/cpus-apart",
        Cpus::Together => "/same-cpu",
    }
}

fn task_to_task(w: usize, cpus: Cpus) {
    let mut h = hiver(w);
    let tm = tokio_multi_thread(w);
    let mut peers = vec![
        Peer::new(format!("hiver (workers 1 and 0 of {w})"), move || {
            hiver_pingpong(&mut h, (1, 0), TRIPS, true, cpus).into_round()
        }),
        Peer::new("tokio current_thread x2 threads", move || {
            tokio_pair_pingpong(TRIPS, true, cpus).into_round()
        }),
    ];
    if cpus == Cpus::Free {
        peers.push(Peer::new(
            format!("tokio multi_thread ({w}, its placement)"),
            move || tokio_pingpong(&tm, TRIPS, true).into_round(),
        ));
    }
    compare(
        &format!(
            "wake/task-to-task{}: {TRIPS} round trips, task on worker 1 <-> task on worker 0",
            label(cpus)
        ),
        Measure::Latency,
        peers,
    );
}

fn thread_to_task(w: usize, cpus: Cpus) {
    let (thread_cpu, task_cpu) = cpus.sides();
    let mut h = hiver(w);
    let tm = tokio_multi_thread(w);
    let mut peers = vec![
        Peer::new(format!("hiver ({w} workers)"), move || {
            let baton = Baton::new();
            let answer = h.spawn(pong(baton.clone(), TRIPS, task_cpu));
            let r = ping_blocking(&baton, TRIPS, true, thread_cpu);
            h.block_on(answer)
                .expect("hiver block_on")
                .expect("hiver pong task");
            r.into_round()
        }),
        Peer::new("tokio current_thread (own thread)", move || {
            let baton = Baton::new();
            let other = baton.clone();
            let answer = std::thread::spawn(move || {
                tokio_current_thread().block_on(pong(other, TRIPS, task_cpu))
            });
            let r = ping_blocking(&baton, TRIPS, true, thread_cpu);
            answer.join().expect("tokio pong thread");
            r.into_round()
        }),
    ];
    if cpus == Cpus::Free {
        peers.push(Peer::new(
            format!("tokio multi_thread ({w} workers)"),
            move || {
                let baton = Baton::new();
                let answer = tm.spawn(pong(baton.clone(), TRIPS, None));
                let r = ping_blocking(&baton, TRIPS, true, None);
                tm.block_on(answer).expect("tokio pong task");
                r.into_round()
            },
        ));
    }
    compare(
        &format!(
            "wake/thread-to-task{}: {TRIPS} round trips, plain thread <-> task on a worker",
            label(cpus)
        ),
        Measure::Latency,
        peers,
    );
}

fn main() {
    let w = workers();
    let driver = hiver(w).driver_type().to_string();
    hiver_benches::banner("wake_latency", &driver);
    for cpus in [Cpus::Free, Cpus::Apart, Cpus::Together] {
        if w >= 2 && hiver_benches::selected(&format!("wake/task-to-task{}", label(cpus))) {
            task_to_task(w, cpus);
        }
    }
    for cpus in [Cpus::Free, Cpus::Apart] {
        if hiver_benches::selected(&format!("wake/thread-to-task{}", label(cpus))) {
            thread_to_task(w, cpus);
        }
    }
}
