//! Channels: hiver's `bounded` against `tokio::sync::mpsc` and `async-channel`.
//!
//! Workloads (all bounded; `N` = `HIVER_BENCH_WORKERS`, 2 by default):
//! - `channel/spsc/one-worker`: one sender task and one receiver task on one worker,
//!   200 000 `u64` through `bounded(128)`;
//! - `channel/spsc/two-workers`: the same with the sender on worker 0 and the receiver on
//!   worker 1 (every wake crosses threads);
//! - `channel/mpsc4/one-worker`: four sender tasks x 50 000 and the receiver on one worker;
//! - `channel/mpsc4/two-workers`: the four senders on worker 0, the receiver on worker 1;
//! - `channel/pingpong/one-worker`: two tasks on one worker, a request and a reply
//!   `bounded(1)` channel, 50 000 round trips, each timed (median and p99);
//! - `channel/pingpong/two-workers`: the same across workers 0 and 1, 10 000 round trips.
//!
//! Peers, in each workload: hiver's channel on hiver (the baseline); tokio's and
//! async-channel's channels on the same hiver runtime and placement (the channels alone
//! differ); and tokio's channel on tokio, as a tokio program would run it: one
//! current-thread runtime for "one worker", one current-thread runtime per thread for "two
//! workers" (tokio's multi-thread runtime cannot pin a task to a worker).

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hiver_benches::{compare, hiver, tokio_current_thread, workers, Measure, Peer, Round};

const CAP: usize = 128;
const SPSC: u64 = 200_000;
const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 50_000;
const LOCAL_TRIPS: u64 = 50_000;
const CROSS_TRIPS: u64 = 10_000;

/// One channel implementation, as the workloads use it.
trait Flavour: 'static {
    const NAME: &'static str;
    type Tx: Clone + Send + 'static;
    type Rx: Send + 'static;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
}

struct Hiver;

impl Flavour for Hiver {
    const NAME: &'static str = "hiver channel";
    type Tx = hiver_runtime::Sender<u64>;
    type Rx = hiver_runtime::Receiver<u64>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        hiver_runtime::bounded(cap)
    }

    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver alive");
    }

    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

struct Tokio;

impl Flavour for Tokio {
    const NAME: &'static str = "tokio mpsc";
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap)
    }

    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver alive");
    }

    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
}

struct AsyncChannel;

impl Flavour for AsyncChannel {
    const NAME: &'static str = "async-channel";
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }

    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver alive");
    }

    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

async fn produce<F: Flavour>(tx: F::Tx, from: u64, n: u64) {
    for i in from..from + n {
        F::send(&tx, i).await;
    }
}

/// Receives until every sender is gone; the count.
async fn consume<F: Flavour>(mut rx: F::Rx) -> u64 {
    let mut n = 0;
    while let Some(v) = F::recv(&mut rx).await {
        std::hint::black_box(v);
        n += 1;
    }
    n
}

/// `producers` senders x `per` values, senders on worker `tx_on`, receiver on `rx_on`.
fn stream_on_hiver<F: Flavour>(
    rt: &mut hiver_runtime::Runtime,
    producers: u64,
    per: u64,
    (tx_on, rx_on): (usize, usize),
) -> Round {
    let elapsed = rt
        .block_on(async move {
            let (tx, rx) = F::bounded(CAP);
            let start = Instant::now();
            let got = hiver_runtime::spawn_on(rx_on, consume::<F>(rx)).expect("spawn_on");
            for p in 0..producers {
                let tx = tx.clone();
                hiver_runtime::spawn_on(tx_on, produce::<F>(tx, p * per, per)).expect("spawn_on");
            }
            drop(tx);
            assert_eq!(got.await.expect("receiver task"), producers * per);
            start.elapsed()
        })
        .expect("hiver block_on");
    Round::time(elapsed)
}

/// The same on one tokio current-thread runtime.
fn stream_on_tokio<F: Flavour>(rt: &tokio::runtime::Runtime, producers: u64, per: u64) -> Round {
    Round::time(rt.block_on(async move {
        let (tx, rx) = F::bounded(CAP);
        let start = Instant::now();
        let got = tokio::spawn(consume::<F>(rx));
        for p in 0..producers {
            tokio::spawn(produce::<F>(tx.clone(), p * per, per));
        }
        drop(tx);
        assert_eq!(got.await.expect("receiver task"), producers * per);
        start.elapsed()
    }))
}

/// The same with the senders on one tokio current-thread runtime and the receiver on
/// another, each on its own thread (both runtimes built before the clock starts).
fn stream_on_tokio_pair<F: Flavour>(producers: u64, per: u64) -> Round {
    let (tx, rx) = F::bounded(CAP);
    let ready = Arc::new(Barrier::new(2));
    let go = ready.clone();
    let senders = std::thread::spawn(move || {
        let rt = tokio_current_thread();
        go.wait();
        rt.block_on(async move {
            let hs: Vec<_> = (0..producers)
                .map(|p| tokio::spawn(produce::<F>(tx.clone(), p * per, per)))
                .collect();
            drop(tx);
            for h in hs {
                h.await.expect("sender task");
            }
        });
    });
    let rt = tokio_current_thread();
    ready.wait();
    let start = Instant::now();
    let got = rt.block_on(consume::<F>(rx));
    let elapsed = start.elapsed();
    senders.join().expect("sender thread");
    assert_eq!(got, producers * per);
    Round::time(elapsed)
}

/// Side 0 of a ping-pong: `n` timed round trips after one untimed one.
async fn ping<F: Flavour>(req: F::Tx, mut rep: F::Rx, n: u64) -> Vec<Duration> {
    F::send(&req, 0).await;
    F::recv(&mut rep).await.expect("pong alive");
    let mut lat = Vec::with_capacity(n as usize);
    for k in 1..=n {
        let t = Instant::now();
        F::send(&req, k).await;
        let back = F::recv(&mut rep).await.expect("pong alive");
        lat.push(t.elapsed());
        debug_assert_eq!(back, k);
    }
    lat
}

/// Side 1: answers every request until the requests end.
async fn pong<F: Flavour>(mut req: F::Rx, rep: F::Tx) {
    while let Some(v) = F::recv(&mut req).await {
        F::send(&rep, v).await;
    }
}

fn latencies(lat: Vec<Duration>) -> Round {
    Round {
        elapsed: lat.iter().sum(),
        latencies: lat,
        cross_thread: None,
    }
}

fn pingpong_on_hiver<F: Flavour>(
    rt: &mut hiver_runtime::Runtime,
    n: u64,
    (ping_on, pong_on): (usize, usize),
) -> Round {
    let lat = rt
        .block_on(async move {
            let (req_tx, req_rx) = F::bounded(1);
            let (rep_tx, rep_rx) = F::bounded(1);
            let answer =
                hiver_runtime::spawn_on(pong_on, pong::<F>(req_rx, rep_tx)).expect("spawn_on");
            let lat = hiver_runtime::spawn_on(ping_on, ping::<F>(req_tx, rep_rx, n))
                .expect("spawn_on")
                .await
                .expect("ping task");
            answer.await.expect("pong task");
            lat
        })
        .expect("hiver block_on");
    latencies(lat)
}

fn pingpong_on_tokio<F: Flavour>(rt: &tokio::runtime::Runtime, n: u64) -> Round {
    latencies(rt.block_on(async move {
        let (req_tx, req_rx) = F::bounded(1);
        let (rep_tx, rep_rx) = F::bounded(1);
        let answer = tokio::spawn(pong::<F>(req_rx, rep_tx));
        let lat = tokio::spawn(ping::<F>(req_tx, rep_rx, n))
            .await
            .expect("ping task");
        answer.await.expect("pong task");
        lat
    }))
}

fn pingpong_on_tokio_pair<F: Flavour>(n: u64) -> Round {
    let (req_tx, req_rx) = F::bounded(1);
    let (rep_tx, rep_rx) = F::bounded(1);
    let answer =
        std::thread::spawn(move || tokio_current_thread().block_on(pong::<F>(req_rx, rep_tx)));
    let lat = tokio_current_thread().block_on(ping::<F>(req_tx, rep_rx, n));
    answer.join().expect("pong thread");
    latencies(lat)
}

/// The placement of a workload: one worker, or across two.
#[derive(Clone, Copy)]
enum Place {
    OneWorker,
    TwoWorkers,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::OneWorker => "one-worker",
            Place::TwoWorkers => "two-workers",
        }
    }

    /// (sender side, receiver side) workers.
    fn workers(self) -> (usize, usize) {
        match self {
            Place::OneWorker => (0, 0),
            Place::TwoWorkers => (0, 1),
        }
    }

    fn tokio_name(self) -> &'static str {
        match self {
            Place::OneWorker => "tokio mpsc on tokio current_thread",
            Place::TwoWorkers => "tokio mpsc on tokio current_thread x2",
        }
    }
}

/// A peer running flavour `F` on the shared hiver runtime.
fn hiver_peer<'a, F: Flavour>(
    rt: &'a RefCell<hiver_runtime::Runtime>,
    place: Place,
    run: impl Fn(&mut hiver_runtime::Runtime) -> Round + 'a,
) -> Peer<'a> {
    let (a, b) = place.workers();
    Peer::new(
        format!("{} on hiver (workers {a},{b})", F::NAME),
        move || run(&mut rt.borrow_mut()),
    )
}

fn streams(place: Place, producers: u64, per: u64, what: &str) {
    let rt = RefCell::new(hiver(workers()));
    let tc = tokio_current_thread();
    let title = format!(
        "channel/{what}/{}: {producers} x {per} u64 through bounded({CAP})",
        place.name()
    );
    let on = place.workers();
    compare(
        &title,
        Measure::Throughput {
            ops: producers * per,
        },
        vec![
            hiver_peer::<Hiver>(&rt, place, move |h| {
                stream_on_hiver::<Hiver>(h, producers, per, on)
            }),
            hiver_peer::<Tokio>(&rt, place, move |h| {
                stream_on_hiver::<Tokio>(h, producers, per, on)
            }),
            hiver_peer::<AsyncChannel>(&rt, place, move |h| {
                stream_on_hiver::<AsyncChannel>(h, producers, per, on)
            }),
            Peer::new(place.tokio_name(), move || match place {
                Place::OneWorker => stream_on_tokio::<Tokio>(&tc, producers, per),
                Place::TwoWorkers => stream_on_tokio_pair::<Tokio>(producers, per),
            }),
        ],
    );
}

fn pingpongs(place: Place, n: u64) {
    let rt = RefCell::new(hiver(workers()));
    let tc = tokio_current_thread();
    let on = place.workers();
    compare(
        &format!(
            "channel/pingpong/{}: {n} round trips through two bounded(1) channels",
            place.name()
        ),
        Measure::Latency,
        vec![
            hiver_peer::<Hiver>(&rt, place, move |h| pingpong_on_hiver::<Hiver>(h, n, on)),
            hiver_peer::<Tokio>(&rt, place, move |h| pingpong_on_hiver::<Tokio>(h, n, on)),
            hiver_peer::<AsyncChannel>(&rt, place, move |h| {
                pingpong_on_hiver::<AsyncChannel>(h, n, on)
            }),
            Peer::new(place.tokio_name(), move || match place {
                Place::OneWorker => pingpong_on_tokio::<Tokio>(&tc, n),
                Place::TwoWorkers => pingpong_on_tokio_pair::<Tokio>(n),
            }),
        ],
    );
}

fn main() {
    let w = workers();
    let driver = hiver(w).driver_type().to_string();
    hiver_benches::banner("channel", &driver);
    let mut places = vec![Place::OneWorker];
    if w >= 2 {
        places.push(Place::TwoWorkers);
    }
    for &place in &places {
        if hiver_benches::selected(&format!("channel/spsc/{}", place.name())) {
            streams(place, 1, SPSC, "spsc");
        }
        if hiver_benches::selected(&format!("channel/mpsc4/{}", place.name())) {
            streams(place, PRODUCERS, PER_PRODUCER, "mpsc4");
        }
    }
    for &place in &places {
        if hiver_benches::selected(&format!("channel/pingpong/{}", place.name())) {
            let n = match place {
                Place::OneWorker => LOCAL_TRIPS,
                Place::TwoWorkers => CROSS_TRIPS,
            };
            pingpongs(place, n);
        }
    }
}
