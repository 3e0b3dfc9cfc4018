//! What the peer servers of `perf/run` share: the command line (the same `--addr` and
//! `--workers` as hiver's example servers) and `SO_REUSEPORT` listeners made with socket2
//! the way hiver's `TcpListener::bind_reuseport` makes them (`SO_REUSEADDR`,
//! `SO_REUSEPORT`, backlog 1024).

#![allow(dead_code)] // each binary uses what it needs

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

/// Backlog of every listener (hiver's too).
pub(crate) const BACKLOG: i32 = 1024;

/// The size of every connection's read buffer (hiver's example servers use the same).
pub(crate) const READ_BUF_SIZE: usize = 4096;

/// The command line of a peer server.
pub(crate) struct Args {
    pub(crate) addr: String,
    /// Worker threads; default one per core, as hiver's default.
    pub(crate) workers: usize,
    /// `--flag value` pairs this server added, as given.
    pub(crate) extra: Vec<(String, String)>,
}

impl Args {
    /// Parses the process's arguments: `--addr HOST:PORT` (default 127.0.0.1:8080),
    /// `--workers N`, and the server's own flags in `extra`, each with the values it
    /// accepts (empty: any). A bad flag prints the usage and exits 2.
    pub(crate) fn parse(name: &str, extra: &[(&str, &[&str])]) -> Args {
        let usage = || -> ! {
            let more: String = extra
                .iter()
                .map(|(f, values)| {
                    if values.is_empty() {
                        format!(" [--{f} VALUE]")
                    } else {
                        format!(" [--{f} {}]", values.join("|"))
                    }
                })
                .collect();
            eprintln!("usage: {name} [--addr HOST:PORT] [--workers N]{more}");
            std::process::exit(2)
        };
        let mut args = Args {
            addr: "127.0.0.1:8080".into(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            extra: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let Some(value) = it.next() else { usage() };
            match flag.as_str() {
                "--addr" => args.addr = value,
                "--workers" => match value.parse() {
                    Ok(n) if n > 0 => args.workers = n,
                    _ => usage(),
                },
                f => {
                    let Some((name, values)) = f
                        .strip_prefix("--")
                        .and_then(|f| extra.iter().find(|(e, _)| *e == f))
                    else {
                        usage()
                    };
                    if !values.is_empty() && !values.contains(&value.as_str()) {
                        usage()
                    }
                    args.extra.push((name.to_string(), value));
                }
            }
        }
        args
    }

    /// The value of an extra flag, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One blocking listener with `SO_REUSEADDR` and `SO_REUSEPORT`, bound to `addr`.
pub(crate) fn reuseport_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
    sock.listen(BACKLOG)?;
    Ok(sock.into())
}

/// `n` listeners sharing one address (port 0 picks a free port for all of them), and
/// that address.
pub(crate) fn listeners(
    addr: &str,
    n: usize,
) -> io::Result<(Vec<std::net::TcpListener>, SocketAddr)> {
    let first_addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("no address: {addr}"))
    })?;
    let first = reuseport_listener(first_addr)?;
    let bound = first.local_addr()?;
    let mut all = vec![first];
    for _ in 1..n {
        all.push(reuseport_listener(bound)?);
    }
    Ok((all, bound))
}

/// Whether an error is a client going away, routine for a server under a load generator
/// that stops.
pub(crate) fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

/// Reports a connection's error unless it is a client going away.
pub(crate) fn report(e: &io::Error) {
    if !is_disconnect(e) {
        eprintln!("connection error: {e}");
    }
}

/// Exits with a message when the server cannot start.
pub(crate) fn fail(what: &str, e: &io::Error) -> ! {
    eprintln!("{what}: {e}");
    std::process::exit(1)
}
