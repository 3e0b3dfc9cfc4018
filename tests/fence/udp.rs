//! `recv_from` dropped in flight while a peer sends datagrams: each datagram arrives
//! intact, once.

use std::pin::pin;
use std::time::Duration;

use hiver_runtime::io::UdpSocket;

use crate::support::{attempt, drivers, pacer, pattern_at, run, serial};

const DATAGRAMS: usize = 3_000;
/// How far the peer may run ahead of the receiver.
const WINDOW: usize = 8;

/// Datagram `seq`: its number, then bytes that depend on it, 8 + seq % 700 long.
fn datagram(seq: usize) -> Vec<u8> {
    let mut d = (seq as u64).to_le_bytes().to_vec();
    d.extend((0..seq % 700).map(|i| pattern_at(i, seq as u8)));
    d
}

#[test]
fn recv_from_dropped_in_flight_while_a_peer_sends() {
    let _serial = serial();
    for driver in drivers() {
        run(driver, "recv_from dropped while a peer sends", async move {
            let sock = UdpSocket::bind("127.0.0.1:0").await?;
            let addr = sock.local_addr()?;
            let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
            let from = peer.local_addr()?;
            let (mut ticks, tocks) = pacer();
            let sender = std::thread::spawn(move || {
                for seq in 0..DATAGRAMS {
                    tocks.wait();
                    peer.send_to(&datagram(seq), addr)?;
                }
                Ok::<_, std::io::Error>(())
            });
            let mut seen = vec![false; DATAGRAMS];
            let (mut got, mut dropped) = (0, 0);
            let mut buf = vec![0u8; 1024];
            let mut allowed = 0;
            while got < DATAGRAMS {
                let done = {
                    let recv = pin!(sock.recv_from(&mut buf));
                    if dropped < DATAGRAMS {
                        attempt(recv).await
                    } else {
                        // Enough drops: collect the rest, bounded.
                        let r = hiver_runtime::timeout(Duration::from_secs(10), recv).await;
                        Some(r.unwrap_or_else(|_| {
                            panic!("{driver}: {got} of {DATAGRAMS} datagrams arrived")
                        }))
                    }
                };
                if let Some(r) = done {
                    let (n, src) = r?;
                    assert_eq!(src, from, "{driver}");
                    let seq = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes")) as usize;
                    assert!(seq < DATAGRAMS, "{driver}: datagram {seq}");
                    assert!(
                        buf[..n] == datagram(seq)[..],
                        "{driver}: datagram {seq} intact"
                    );
                    assert!(!seen[seq], "{driver}: datagram {seq} twice");
                    seen[seq] = true;
                    got += 1;
                } else {
                    dropped += 1;
                }
                // The peer stays at most WINDOW datagrams ahead: a burst would overflow the
                // socket's receive buffer, and UDP loses those (not the runtime's doing).
                while allowed < (got + WINDOW).min(DATAGRAMS) {
                    ticks.tick();
                    allowed += 1;
                }
            }
            ticks.release();
            sender.join().expect("sender thread")?;
            eprintln!("{driver}: {dropped} recv_from dropped in flight");
            Ok(())
        });
    }
}
