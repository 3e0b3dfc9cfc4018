//! An HTTP/1.1 server that drains its connections on Ctrl-C (SIGINT) or SIGTERM: it stops
//! accepting, answers the requests it is working on, closes idle keep-alive connections,
//! and exits 0 once every connection is done (or after `--grace-ms`, cancelling the rest).
//!
//! ```text
//! cargo run --example graceful -- --addr 127.0.0.1:8080 --work-ms 2000
//! curl http://127.0.0.1:8080/ &   # then press Ctrl-C: the request is still answered
//! ```
//!
//! Flags: the example servers' `--addr`, `--workers`, `--driver`, plus `--work-ms N` (each
//! batch of requests takes N ms of simulated work before it is answered; with N > 0 the
//! server prints `working on a request` when it starts one) and `--grace-ms N` (default
//! 10000). It prints `listening on ADDR (driver, N workers)`, then `shutting down` at the
//! signal, then `drained` or `grace period over` before it exits.

#[path = "support/args.rs"]
mod args;
#[path = "support/http.rs"]
mod http;
#[path = "support/http_conn.rs"]
mod http_conn;

use std::io;
use std::time::Duration;

use hiver_runtime::io::TcpListener;
use hiver_runtime::select::SelectTwoOutput;
use hiver_runtime::signal::{self, SignalKind};
use hiver_runtime::{select_two, shutdown_signal, sleep, spawn};

fn main() -> io::Result<()> {
    let args = args::Args::parse("graceful", &["work-ms", "grace-ms"]);
    let ms = |name: &str, default: u64| -> Duration {
        match args.get(name).map(str::parse::<u64>) {
            None => Duration::from_millis(default),
            Some(Ok(n)) => Duration::from_millis(n),
            Some(Err(_)) => {
                eprintln!("--{name} takes a number of milliseconds");
                std::process::exit(2)
            }
        }
    };
    let (work, grace) = (ms("work-ms", 0), ms("grace-ms", 10_000));
    let mut runtime = args.runtime()?;
    let (workers, driver) = (runtime.worker_threads(), runtime.driver_type());
    // Listen for the signals before the address is printed (from then on a signal is ours).
    let mut interrupt = signal::signal(SignalKind::interrupt())?;
    let mut terminate = signal::signal(SignalKind::terminate())?;
    runtime.block_on(async {
        let listener = TcpListener::bind(args.addr.as_str()).await?;
        println!(
            "listening on {} ({driver}, {workers} workers)",
            listener.local_addr()?
        );
        let stop = select_two(interrupt.recv(), terminate.recv());
        let mut stop = std::pin::pin!(stop);
        loop {
            match select_two(listener.accept(), stop.as_mut()).await {
                SelectTwoOutput::First(Ok((stream, _))) => {
                    spawn(async move {
                        // Idle at the shutdown: closed; in a request: answered first.
                        let stop = Some(shutdown_signal());
                        if let Err(e) = http_conn::serve_http(stream, work, stop).await {
                            eprintln!("connection error: {e}");
                        }
                    });
                }
                SelectTwoOutput::First(Err(e)) => {
                    eprintln!("accept error: {e}");
                    sleep(Duration::from_millis(10)).await;
                }
                SelectTwoOutput::Second(_) => break,
            }
        }
        // The listener closes here: new connections are refused from now on.
        println!("shutting down");
        Ok::<_, io::Error>(())
    })??;
    if runtime.shutdown_timeout(grace) {
        println!("drained");
    } else {
        println!("grace period over: the remaining connections were closed");
    }
    Ok(())
}
