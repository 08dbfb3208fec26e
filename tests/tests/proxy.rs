//! The test proxies: the fault proxy loses, cuts, repeats and delays whole HTTP exchanges as its
//! seed says and within its fault budget; the shaping proxy delays, throttles and cuts a link;
//! the counting proxy counts bytes exactly. Driven by a raw TCP client against tiny local
//! servers, so these tests depend on nothing but tokio.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tests::proxy::{CountingProxy, FaultConfig, FaultProxy, FaultStats, ShapeConfig, ShapingProxy};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Every test ends within this, whatever the proxies do.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a test body with a deadline.
async fn within<F: Future<Output = anyhow::Result<()>>>(body: F) -> anyhow::Result<()> {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .map_err(|_| anyhow::anyhow!("the test did not finish within {TEST_TIMEOUT:?}"))?
}

// --- A tiny HTTP server -----------------------------------------------------------------------

/// An HTTP/1.1 server that answers each request, on its own connection, with
/// `reply <n> to <len> bytes: ` (n counting requests from 1) followed, when echoing, by the
/// request body; it records every request exactly as received.
struct Upstream {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Upstream {
    async fn start(echo: bool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let _ = answer(stream, echo, &seen).await;
                });
            }
        });
        Ok(Self {
            addr,
            requests,
            task,
        })
    }

    fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().expect("the request log").clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The response the upstream gives as its `n`th answer to a request with `body`.
fn response(n: usize, body: &[u8], echo: bool) -> Vec<u8> {
    let mut content = format!("reply {n} to {} bytes: ", body.len()).into_bytes();
    if echo {
        content.extend_from_slice(body);
    }
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        content.len()
    )
    .into_bytes();
    out.extend_from_slice(&content);
    out
}

async fn answer(
    mut stream: TcpStream,
    echo: bool,
    seen: &Mutex<Vec<Vec<u8>>>,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the request ended inside its head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let body_len: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map(|v| v.trim().parse())
        .transpose()?
        .unwrap_or(0);
    while buf.len() < head_end + body_len {
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the request ended inside its body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let n = {
        let mut seen = seen.lock().expect("the request log");
        seen.push(buf.clone());
        seen.len()
    };
    stream
        .write_all(&response(n, &buf[head_end..], echo))
        .await?;
    stream.shutdown().await?;
    Ok(())
}

/// A TCP server that echoes every byte back and half-closes when its client does.
struct EchoServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EchoServer {
    async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    if tokio::io::copy(&mut r, &mut w).await.is_ok() {
                        let _ = w.shutdown().await;
                    }
                });
            }
        });
        Ok(Self { addr, task })
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// --- A raw client -----------------------------------------------------------------------------

/// A POST with `body`, as a phone sends a sync request.
fn request(body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST /api/sync HTTP/1.1\r\nHost: lianxin.test\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// What came back on one connection: the bytes read until end of stream, and the error that
/// ended it instead, if any.
#[derive(Debug)]
struct Reply {
    bytes: Vec<u8>,
    error: Option<ErrorKind>,
}

/// Opens a connection to `addr`, sends `bytes`, and reads until the connection ends.
async fn send(addr: SocketAddr, bytes: &[u8]) -> anyhow::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut reply = Reply {
        bytes: Vec::new(),
        error: None,
    };
    if let Err(error) = stream.write_all(bytes).await {
        reply.error = Some(error.kind());
        return Ok(reply);
    }
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => return Ok(reply),
            Ok(n) => reply.bytes.extend_from_slice(&chunk[..n]),
            Err(error) => {
                reply.error = Some(error.kind());
                return Ok(reply);
            }
        }
    }
}

/// The body of an HTTP request, and whether its head carries `Connection: close`.
fn forwarded(request: &[u8]) -> (&[u8], bool) {
    let at = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(request.len(), |at| at + 4);
    let head = String::from_utf8_lossy(&request[..at]).to_ascii_lowercase();
    let closes = head.lines().any(|line| line == "connection: close");
    (&request[at..], closes)
}

// --- The fault proxy --------------------------------------------------------------------------

#[tokio::test]
async fn a_fault_free_proxy_relays_requests_and_responses_byte_exactly() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let proxy = FaultProxy::start(upstream.addr, FaultConfig::default()).await?;
        let bodies: [&[u8]; 3] = [b"", b"first visit", &[0xA5; 100_000]];
        let mut sent = 0;

        for (i, body) in bodies.iter().enumerate() {
            let reply = send(proxy.addr(), &request(body)).await?;
            assert_eq!(reply.error, None);
            assert!(
                reply.bytes == response(i + 1, body, true),
                "response {i} differs"
            );
            sent += request(body).len();
        }

        let seen = upstream.requests();
        assert_eq!(seen.len(), 3);
        for (request, body) in seen.iter().zip(bodies) {
            let (forwarded_body, closes) = forwarded(request);
            assert!(forwarded_body == body);
            assert!(
                closes,
                "the proxy asks the upstream to close after the response"
            );
        }
        let received: usize = (1..=3)
            .map(|n| response(n, bodies[n - 1], true).len())
            .sum();
        assert_eq!(
            proxy.stats(),
            FaultStats {
                bytes_up: sent as u64,
                bytes_down: received as u64,
                accepted: 3,
                delivered: 3,
                ..FaultStats::default()
            }
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_proxy_replaces_a_keep_alive_connection_header_with_close() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let proxy = FaultProxy::start(upstream.addr, FaultConfig::default()).await?;
        let keep_alive = b"POST /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\
                           Content-Length: 2\r\n\r\nhi";

        let reply = send(proxy.addr(), keep_alive).await?;

        assert!(reply.bytes == response(1, b"hi", true));
        let seen = upstream.requests();
        let head = String::from_utf8_lossy(&seen[0]).to_ascii_lowercase();
        assert_eq!(head.matches("connection:").count(), 1);
        assert!(head.contains("connection: close\r\n"));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_dropped_response_reaches_the_upstream_but_not_the_client() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let config = FaultConfig {
            drop_response: 1.0,
            ..FaultConfig::default()
        };
        let proxy = FaultProxy::start(upstream.addr, config).await?;

        let reply = send(proxy.addr(), &request(b"lost answer")).await?;

        assert!(reply.bytes.is_empty(), "the client gets nothing: {reply:?}");
        assert_eq!(upstream.requests().len(), 1);
        assert!(forwarded(&upstream.requests()[0]).0 == b"lost answer");
        let stats = proxy.stats();
        assert_eq!((stats.dropped_responses, stats.cut), (1, 1));
        assert_eq!((stats.bytes_down, stats.delivered), (0, 0));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_duplicated_request_reaches_the_upstream_twice_and_the_client_gets_the_second_answer_once()
-> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let config = FaultConfig {
            duplicate_request: 1.0,
            ..FaultConfig::default()
        };
        let proxy = FaultProxy::start(upstream.addr, config).await?;

        for round in 0..3 {
            let body = format!("visit {round}");
            let reply = send(proxy.addr(), &request(body.as_bytes())).await?;
            // The upstream answers 2·round+1 and then 2·round+2; only the second comes back.
            assert!(reply.bytes == response(2 * round + 2, body.as_bytes(), true));
        }

        let seen = upstream.requests();
        assert_eq!(seen.len(), 6);
        for pair in seen.chunks(2) {
            assert_eq!(pair[0], pair[1], "both copies are the same request");
        }
        let stats = proxy.stats();
        assert_eq!(
            (stats.duplicated_requests, stats.delivered, stats.cut),
            (3, 3, 0)
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_truncated_response_is_a_strict_prefix_of_the_full_response() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let config = FaultConfig {
            truncate_response: 1.0,
            seed: 11,
            ..FaultConfig::default()
        };
        let proxy = FaultProxy::start(upstream.addr, config).await?;
        let body = vec![7u8; 5_000];

        let reply = send(proxy.addr(), &request(&body)).await?;

        let full = response(1, &body, true);
        assert!(reply.bytes.len() < full.len());
        assert!(full.starts_with(&reply.bytes), "the client gets a prefix");
        let stats = proxy.stats();
        assert_eq!((stats.truncated_responses, stats.cut), (1, 1));
        assert_eq!(stats.bytes_down, reply.bytes.len() as u64);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn max_faults_bounds_the_faults_and_every_later_request_is_delivered() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let config = FaultConfig {
            drop_request: 1.0,
            max_faults: Some(3),
            ..FaultConfig::default()
        };
        let proxy = FaultProxy::start(upstream.addr, config).await?;
        let mut answered = Vec::new();

        for round in 0..6 {
            let reply = send(proxy.addr(), &request(format!("try {round}").as_bytes())).await?;
            answered.push(!reply.bytes.is_empty());
        }

        assert_eq!(answered, [false, false, false, true, true, true]);
        assert_eq!(
            upstream.requests().len(),
            3,
            "dropped requests never reach it"
        );
        let stats = proxy.stats();
        assert_eq!((stats.dropped_requests, stats.delivered), (3, 3));
        Ok(())
    })
    .await
}

/// What happened to each of `rounds` sequential requests through a proxy with `config`.
async fn outcomes(config: FaultConfig, rounds: usize) -> anyhow::Result<(Vec<usize>, FaultStats)> {
    let upstream = Upstream::start(false).await?;
    let proxy = FaultProxy::start(upstream.addr, config).await?;
    let mut lengths = Vec::new();
    for round in 0..rounds {
        let reply = send(proxy.addr(), &request(format!("round {round}").as_bytes())).await?;
        lengths.push(reply.bytes.len());
    }
    Ok((lengths, proxy.stats()))
}

#[tokio::test]
async fn the_same_seed_makes_the_same_decisions_and_another_seed_others() -> anyhow::Result<()> {
    within(async {
        let config = FaultConfig {
            drop_request: 0.15,
            drop_response: 0.15,
            truncate_response: 0.15,
            duplicate_request: 0.15,
            delay: (0.3, 20),
            seed: 2024,
            max_faults: None,
        };

        let first = outcomes(config, 40).await?;
        let again = outcomes(config, 40).await?;
        let other = outcomes(
            FaultConfig {
                seed: 2025,
                ..config
            },
            40,
        )
        .await?;

        assert_eq!(first, again);
        assert_ne!(first.0, other.0);
        let stats = first.1;
        assert!(stats.dropped_requests > 0 && stats.dropped_responses > 0);
        assert!(stats.truncated_responses > 0 && stats.duplicated_requests > 0);
        assert!(stats.delayed_requests > 0 && stats.delivered > 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_chunked_request_is_refused_without_contacting_the_upstream() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let proxy = FaultProxy::start(upstream.addr, FaultConfig::default()).await?;
        let chunked = b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";

        let reply = send(proxy.addr(), chunked).await?;

        assert!(reply.bytes.is_empty());
        assert!(upstream.requests().is_empty());
        assert_eq!(proxy.stats().refused, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn fault_probabilities_that_sum_past_one_are_rejected() -> anyhow::Result<()> {
    let upstream = Upstream::start(true).await?;
    let config = FaultConfig {
        drop_request: 0.6,
        drop_response: 0.6,
        ..FaultConfig::default()
    };

    assert!(FaultProxy::start(upstream.addr, config).await.is_err());
    Ok(())
}

// --- The counting proxy -----------------------------------------------------------------------

#[tokio::test]
async fn the_counting_proxy_counts_the_bytes_each_way_exactly() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let proxy = CountingProxy::start(upstream.addr).await?;
        let body = vec![1u8; 70_000];

        let reply = send(proxy.addr(), &request(&body)).await?;

        assert!(reply.bytes == response(1, &body, true));
        let stats = proxy.stats();
        assert_eq!(stats.bytes_up, request(&body).len() as u64);
        assert_eq!(stats.bytes_down, reply.bytes.len() as u64);
        assert_eq!(
            (stats.accepted, stats.cut, stats.refused, stats.cuts),
            (1, 0, 0, 0)
        );
        Ok(())
    })
    .await
}

// --- The shaping proxy ------------------------------------------------------------------------

/// Milliseconds `bytes` take on a `kbit_per_s` link.
fn serialisation_ms(bytes: u64, kbit_per_s: u64) -> f64 {
    bytes as f64 * 8.0 / kbit_per_s as f64
}

#[tokio::test]
async fn a_32_kib_exchange_on_a_weak_link_costs_its_serialisation_plus_two_delays()
-> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(true).await?;
        let proxy = ShapingProxy::start(upstream.addr, ShapeConfig::stable(300, 256)).await?;
        let body = vec![9u8; 32 * 1024];

        let started = Instant::now();
        let reply = send(proxy.addr(), &request(&body)).await?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;

        assert!(reply.bytes == response(1, &body, true));
        let stats = proxy.stats();
        // The whole request crosses before the server answers, then the whole response.
        let floor = serialisation_ms(stats.bytes_up + stats.bytes_down, 256) + 600.0;
        eprintln!("32 KiB each way: {elapsed:.0} ms for a floor of {floor:.0} ms");
        assert!(
            elapsed >= floor - 1.0,
            "{elapsed:.0} ms is under the floor {floor:.0} ms"
        );
        assert!(
            elapsed <= 3.0 * floor,
            "{elapsed:.0} ms is far over {floor:.0} ms"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn concurrent_connections_share_one_bandwidth_budget() -> anyhow::Result<()> {
    within(async {
        let upstream = Upstream::start(false).await?;
        let proxy = ShapingProxy::start(upstream.addr, ShapeConfig::stable(300, 256)).await?;
        let upload = request(&[3u8; 16 * 1024]);

        let started = Instant::now();
        let (a, b) = tokio::join!(send(proxy.addr(), &upload), send(proxy.addr(), &upload));
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;

        assert_eq!((a?.error, b?.error), (None, None));
        // Both uploads queue on one up link: the later answer waits for all the bytes.
        let floor = serialisation_ms(proxy.stats().bytes_up, 256) + 600.0;
        eprintln!("two 16 KiB uploads: {elapsed:.0} ms for a floor of {floor:.0} ms");
        assert!(
            elapsed >= floor - 1.0,
            "{elapsed:.0} ms is under the floor {floor:.0} ms"
        );
        assert!(
            elapsed <= 3.0 * floor,
            "{elapsed:.0} ms is far over {floor:.0} ms"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_shaping_proxy_carries_a_half_close_after_the_data() -> anyhow::Result<()> {
    within(async {
        let echo = EchoServer::start().await?;
        let proxy = ShapingProxy::start(echo.addr, ShapeConfig::stable(50, 0)).await?;
        let mut stream = TcpStream::connect(proxy.addr()).await?;

        let started = Instant::now();
        stream.write_all(b"ping").await?;
        stream.shutdown().await?;
        let mut back = Vec::new();
        stream.read_to_end(&mut back).await?;

        assert_eq!(back, b"ping");
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "one round trip"
        );
        assert_eq!(proxy.stats().bytes_down, 4);
        Ok(())
    })
    .await
}

/// Sends `ping` on `stream` and expects it back.
async fn ping(stream: &mut TcpStream) -> anyhow::Result<()> {
    stream.write_all(b"ping").await?;
    let mut back = [0u8; 4];
    stream.read_exact(&mut back).await?;
    anyhow::ensure!(&back == b"ping", "the echo came back as {back:?}");
    Ok(())
}

/// Reads from `stream` until it ends; true if it ended without data (end of stream or reset).
async fn ends_empty(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match stream.read(&mut buf).await {
        Ok(0) | Err(_) => true,
        Ok(_) => false,
    }
}

#[tokio::test]
async fn a_cut_closes_live_connections_refuses_new_ones_while_down_and_max_cuts_ends_it()
-> anyhow::Result<()> {
    within(async {
        let echo = EchoServer::start().await?;
        let config = ShapeConfig {
            // Wide margins: the first ping must finish before the cut on a loaded machine.
            cut_every_ms: Some((1_500, 1_500)),
            down_for_ms: (1_500, 1_500),
            max_cuts: Some(1),
            seed: 5,
            ..ShapeConfig::transparent()
        };
        let started = Instant::now();
        let proxy = ShapingProxy::start(echo.addr, config).await?;

        let mut long_lived = TcpStream::connect(proxy.addr()).await?;
        ping(&mut long_lived).await?;
        assert!(
            ends_empty(&mut long_lived).await,
            "the cut ends the connection"
        );
        let cut_at = started.elapsed();
        assert!(
            cut_at >= Duration::from_millis(1_500),
            "cut after {cut_at:?}"
        );
        assert!(proxy.is_down());

        let mut during = TcpStream::connect(proxy.addr()).await?;
        let tried = Instant::now();
        let _ = during.write_all(b"ping").await;
        assert!(
            ends_empty(&mut during).await,
            "a connection while down is closed"
        );
        assert!(
            proxy.stats().refused >= 1 && tried.elapsed() < Duration::from_millis(1_000),
            "and closed at once, not held until the link is back"
        );

        // Bounded wait for the link to come back.
        for _ in 0..50 {
            if !proxy.is_down() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!proxy.is_down());
        let mut after = TcpStream::connect(proxy.addr()).await?;
        ping(&mut after).await?;
        // Longer than the time between cuts: no second cut comes.
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        ping(&mut after).await?;

        let stats = proxy.stats();
        assert_eq!((stats.cuts, stats.cut), (1, 1));
        assert!(stats.refused >= 1);
        Ok(())
    })
    .await
}
