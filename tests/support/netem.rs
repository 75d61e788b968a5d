//! A TCP proxy that adds a fixed delay to every byte in each direction, like `tc netem delay`
//! but on loopback and without root: one-way delay `d` makes every round trip `2 d` longer while
//! throughput stays free. It speaks no protocol, so TLS and HTTP/2 pass through it unchanged.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running proxy; it lives as long as the test process.
pub struct Netem {
    pub port: u16,
}

/// Starts a proxy on a free loopback port in front of `127.0.0.1:upstream`.
pub fn start(upstream: u16, delay: Duration) -> Netem {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            pipe(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                delay,
            );
            pipe(server, client, delay);
        }
    });
    Netem { port }
}

/// Copies `from` to `to`, each chunk delivered `delay` after it was read.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
