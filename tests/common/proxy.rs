//! A TCP proxy for PostgreSQL tests and benchmarks: it delays every client-to-server
//! packet by a fixed time (a LAN's latency, where the kernel has no `netem`) and counts
//! round trips.
//!
//! A round trip is counted each time the client sends after the server has sent (or
//! first): requests sent together, before any response, count once however many packets
//! they take; a request that waits for a response counts again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep_until};

/// A running proxy. It lives as long as the runtime it was started on.
pub struct Proxy {
    pub addr: SocketAddr,
    trips: Arc<AtomicU64>,
}

impl Proxy {
    /// Listens on a free local port and forwards to `upstream`, each client packet
    /// `delay` late.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let trips = Arc::new(AtomicU64::new(0));
        let counter = trips.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else { continue };
                tokio::spawn(relay(client, server, delay, counter.clone()));
            }
        });
        Proxy { addr, trips }
    }

    /// Round trips since the last call (over all connections).
    pub fn take_round_trips(&self) -> u64 {
        self.trips.swap(0, SeqCst)
    }

    /// `url` (a `postgres://` URL) with its host and port replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        let (head, rest) = url.split_once('@').expect("the URL has user@host");
        let path = &rest[rest.find('/').expect("the URL names a database")..];
        format!("{head}@{}{path}", self.addr)
    }
}

/// The server a `postgres://` URL points at.
pub fn upstream(url: &str) -> SocketAddr {
    let rest = url.split_once('@').expect("the URL has user@host").1;
    let host = &rest[..rest.find('/').expect("the URL names a database")];
    std::net::ToSocketAddrs::to_socket_addrs(host).expect("resolve the server").next().expect("an address")
}

async fn relay(client: TcpStream, server: TcpStream, delay: Duration, trips: Arc<AtomicU64>) {
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    // The server spoke last: the client's next packet starts a round trip.
    let server_spoke = Arc::new(AtomicBool::new(true));
    let (queue, mut delayed) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let spoke = server_spoke.clone();
    let upward = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
            if spoke.swap(false, SeqCst) {
                trips.fetch_add(1, SeqCst);
            }
            if queue.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = delayed.recv().await {
            sleep_until(at).await;
            if server_tx.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = server_tx.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = server_rx.read(&mut buf).await {
        server_spoke.store(true, SeqCst);
        if client_tx.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    upward.abort();
    writer.abort();
}
