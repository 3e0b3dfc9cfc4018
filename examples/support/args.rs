//! The command line the example servers share: `--addr HOST:PORT` (default
//! 127.0.0.1:8080), `--workers N` (default: one per core), `--driver auto|uring|epoll`
//! (default auto), plus the flags an example adds. A bad flag prints the usage and exits 2.

#![allow(dead_code)] // each example uses what it needs

use hiver_runtime::{DriverType, Runtime};

pub(crate) struct Args {
    pub(crate) addr: String,
    pub(crate) workers: Option<usize>,
    pub(crate) driver: DriverType,
    /// Flags this example added, as given.
    pub(crate) extra: Vec<(String, String)>,
}

impl Args {
    /// Parses the process's arguments; `extra` names the example's own `--flag value`s.
    pub(crate) fn parse(name: &str, extra: &[&str]) -> Args {
        let usage = || -> ! {
            let more: String = extra.iter().map(|f| format!(" [--{f} VALUE]")).collect();
            eprintln!(
                "usage: {name} [--addr HOST:PORT] [--workers N] [--driver auto|uring|epoll]{more}"
            );
            std::process::exit(2)
        };
        let mut args = Args {
            addr: "127.0.0.1:8080".into(),
            workers: None,
            driver: DriverType::Auto,
            extra: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let Some(value) = it.next() else { usage() };
            match flag.as_str() {
                "--addr" => args.addr = value,
                "--workers" => match value.parse() {
                    Ok(n) if n > 0 => args.workers = Some(n),
                    _ => usage(),
                },
                "--driver" => {
                    args.driver = match value.as_str() {
                        "auto" => DriverType::Auto,
                        "uring" | "io_uring" => DriverType::IOUring,
                        "epoll" => DriverType::Epoll,
                        "kqueue" => DriverType::Kqueue,
                        _ => usage(),
                    }
                }
                f if f.starts_with("--") && extra.contains(&&f[2..]) => {
                    args.extra.push((f[2..].to_string(), value))
                }
                _ => usage(),
            }
        }
        args
    }

    /// The value of an extra flag.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A runtime with these settings.
    pub(crate) fn runtime(&self) -> std::io::Result<Runtime> {
        let mut b = Runtime::builder().driver_type(self.driver);
        if let Some(n) = self.workers {
            b = b.worker_threads(n);
        }
        b.build()
    }
}
