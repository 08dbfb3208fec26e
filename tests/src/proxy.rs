//! Userspace TCP proxies that stand between a test client and the server to make the network
//! misbehave on purpose: [`FaultProxy`] loses, cuts, repeats and delays whole HTTP exchanges,
//! [`ShapingProxy`] emulates a slow, high-latency, flapping mobile link byte by byte, and
//! [`CountingProxy`] only counts the bytes on the wire.
//!
//! All of them listen on `127.0.0.1:0`, forward to one upstream address, draw their decisions
//! from a seeded [`ChaCha8Rng`] so a seed names a scenario, and stop — with every connection they
//! relay — when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// The largest request head or body, and the largest response, the fault proxy reads: 64 MiB.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The largest request head (request line and headers) the fault proxy reads.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The chunk size of the shaping proxy, one Ethernet-sized TCP segment.
const SEGMENT_BYTES: usize = 1460;

/// Chunks a shaping pipe holds between its reader and its writer before the reader waits.
const PIPE_CHUNKS: usize = 256;

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Binds a free loopback port for a proxy.
async fn bind_loopback() -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a free loopback port for a proxy")?;
    let addr = listener
        .local_addr()
        .context("reading the proxy's address")?;
    Ok((listener, addr))
}

/// Closes `stream` with a reset rather than an orderly shutdown, as a lost link looks to a
/// peer that tries to use it.
fn reset(stream: TcpStream) {
    // Failing to set the option only turns the reset into an orderly close.
    let _ = stream.set_zero_linger();
    drop(stream);
}

// ---------------------------------------------------------------------------------------------
// The fault proxy
// ---------------------------------------------------------------------------------------------

/// What a [`FaultProxy`] does to requests: the chance of each fault and the seed that picks them.
///
/// The four exclusive fates (`drop_request`, `drop_response`, `truncate_response`,
/// `duplicate_request`) are drawn from one roll, so their probabilities must sum to at most 1;
/// the rest of the time the exchange is delivered. The delay is drawn independently and comes
/// on top of any fate. [`FaultConfig::default`] injects nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Probability of closing the client connection without contacting the upstream.
    pub drop_request: f64,
    /// Probability of forwarding the request, reading the whole response, and closing the client
    /// connection without sending any of it.
    pub drop_response: f64,
    /// Probability of forwarding the request and sending the client a random strict prefix of
    /// the response before closing.
    pub truncate_response: f64,
    /// Probability of sending the request upstream twice, one connection after the other, and
    /// relaying only the second response.
    pub duplicate_request: f64,
    /// Probability of waiting before forwarding, and the longest wait in milliseconds (the wait
    /// is uniform in `0..=max_ms`).
    pub delay: (f64, u64),
    /// The seed of the proxy's random decisions.
    pub seed: u64,
    /// How many requests may be faulted (delays included); every request after that is
    /// delivered cleanly and at once, so retry loops in tests always end. `None`: no bound.
    pub max_faults: Option<usize>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            drop_request: 0.0,
            drop_response: 0.0,
            truncate_response: 0.0,
            duplicate_request: 0.0,
            delay: (0.0, 0),
            seed: 0,
            max_faults: None,
        }
    }
}

impl FaultConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let fates = [
            ("drop_request", self.drop_request),
            ("drop_response", self.drop_response),
            ("truncate_response", self.truncate_response),
            ("duplicate_request", self.duplicate_request),
            ("delay", self.delay.0),
        ];
        for (name, p) in fates {
            ensure!(
                (0.0..=1.0).contains(&p),
                "the {name} probability {p} is not in 0..=1"
            );
        }
        let exclusive = self.drop_request
            + self.drop_response
            + self.truncate_response
            + self.duplicate_request;
        ensure!(
            exclusive <= 1.0 + 1e-9,
            "the drop, truncate and duplicate probabilities sum to {exclusive}, more than 1"
        );
        Ok(())
    }
}

/// What a [`FaultProxy`] has done so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FaultStats {
    /// Bytes the clients sent to the proxy.
    pub bytes_up: u64,
    /// Bytes the proxy sent to the clients.
    pub bytes_down: u64,
    /// Client connections accepted.
    pub accepted: u64,
    /// Client connections closed without the full response, by a fault or because the upstream
    /// failed.
    pub cut: u64,
    /// Client connections closed without forwarding anything because the request was not one
    /// the proxy reads (see [`FaultProxy`]).
    pub refused: u64,
    /// Requests dropped before reaching the upstream.
    pub dropped_requests: u64,
    /// Responses read from the upstream and not sent to the client.
    pub dropped_responses: u64,
    /// Responses sent to the client cut short.
    pub truncated_responses: u64,
    /// Requests sent to the upstream twice.
    pub duplicated_requests: u64,
    /// Requests held back before being forwarded.
    pub delayed_requests: u64,
    /// Responses relayed to the client in full.
    pub delivered: u64,
}

#[derive(Debug, Default)]
struct FaultCounters {
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    accepted: AtomicU64,
    cut: AtomicU64,
    refused: AtomicU64,
    dropped_requests: AtomicU64,
    dropped_responses: AtomicU64,
    truncated_responses: AtomicU64,
    duplicated_requests: AtomicU64,
    delayed_requests: AtomicU64,
    delivered: AtomicU64,
}

impl FaultCounters {
    fn snapshot(&self) -> FaultStats {
        FaultStats {
            bytes_up: load(&self.bytes_up),
            bytes_down: load(&self.bytes_down),
            accepted: load(&self.accepted),
            cut: load(&self.cut),
            refused: load(&self.refused),
            dropped_requests: load(&self.dropped_requests),
            dropped_responses: load(&self.dropped_responses),
            truncated_responses: load(&self.truncated_responses),
            duplicated_requests: load(&self.duplicated_requests),
            delayed_requests: load(&self.delayed_requests),
            delivered: load(&self.delivered),
        }
    }
}

/// The fate of one exchange, decided when its request has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Deliver,
    DropRequest,
    DropResponse,
    /// The number picks the prefix length: `n % response_len`.
    Truncate(u64),
    Duplicate,
}

/// The seeded decisions of a fault proxy and how many faults they have spent.
#[derive(Debug)]
struct Dice {
    config: FaultConfig,
    rng: ChaCha8Rng,
    faults: usize,
}

impl Dice {
    fn roll(&mut self) -> (Fate, Option<Duration>) {
        if self.config.max_faults.is_some_and(|max| self.faults >= max) {
            return (Fate::Deliver, None);
        }
        let c = self.config;
        let roll: f64 = self.rng.random();
        let fate = if roll < c.drop_request {
            Fate::DropRequest
        } else if roll < c.drop_request + c.drop_response {
            Fate::DropResponse
        } else if roll < c.drop_request + c.drop_response + c.truncate_response {
            Fate::Truncate(self.rng.random())
        } else if roll
            < c.drop_request + c.drop_response + c.truncate_response + c.duplicate_request
        {
            Fate::Duplicate
        } else {
            Fate::Deliver
        };
        let delay = (self.rng.random::<f64>() < c.delay.0)
            .then(|| Duration::from_millis(self.rng.random_range(0..=c.delay.1)));
        if fate != Fate::Deliver || delay.is_some() {
            self.faults += 1;
        }
        (fate, delay)
    }
}

/// An HTTP/1.1 proxy that injects whole-exchange faults, one request per TCP connection.
///
/// For each connection it reads one request — the head up to the blank line, then exactly
/// `Content-Length` body bytes — rewrites its `Connection` header to `Connection: close`, and
/// then, as the seeded dice say, drops the request, drops or truncates the response, sends the
/// request twice, delays it, or relays the exchange faithfully (reading the upstream's response
/// to its end of stream). Requests it does not read — `Transfer-Encoding`, a head over 64 KiB or
/// a body over [`MAX_MESSAGE_BYTES`], a malformed `Content-Length`, bytes after the body — are
/// refused by closing the connection. Stopped when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    counters: Arc<FaultCounters>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a fault proxy on a free loopback port in front of `upstream`.
    ///
    /// # Errors
    /// When a probability in `config` is outside `0..=1`, the exclusive fates sum to more than
    /// 1, or no loopback port can be bound.
    pub async fn start(upstream: SocketAddr, config: FaultConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let (listener, addr) = bind_loopback().await?;
        let counters = Arc::new(FaultCounters::default());
        let dice = Arc::new(Mutex::new(Dice {
            config,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            faults: 0,
        }));
        let task = tokio::spawn(accept_faulty(listener, upstream, dice, counters.clone()));
        Ok(Self {
            addr,
            counters,
            task,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of `path` (which starts with `/`) through this proxy.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> FaultStats {
        self.counters.snapshot()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts clients until aborted; aborting drops the join set, which aborts every exchange.
async fn accept_faulty(
    listener: TcpListener,
    upstream: SocketAddr,
    dice: Arc<Mutex<Dice>>,
    counters: Arc<FaultCounters>,
) {
    let mut exchanges = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors or similar: let the moment pass rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        bump(&counters.accepted);
        while exchanges.try_join_next().is_some() {}
        exchanges.spawn(exchange(client, upstream, dice.clone(), counters.clone()));
    }
}

/// Why a request was not read.
#[derive(Debug)]
struct Refused;

/// Reads one request from `client`, counting its bytes, and returns it with `Connection: close`.
async fn read_request(
    client: &mut TcpStream,
    counters: &FaultCounters,
) -> Result<Vec<u8>, Refused> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = find_blank_line(&buf) {
            break at;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(Refused);
        }
        let n = client.read(&mut chunk).await.map_err(|_| Refused)?;
        if n == 0 {
            return Err(Refused);
        }
        add(&counters.bytes_up, n);
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD_BYTES {
        return Err(Refused);
    }
    let (head, body_len) = rewrite_head(&buf[..head_end])?;
    if body_len > MAX_MESSAGE_BYTES {
        return Err(Refused);
    }
    let total = head_end + body_len;
    while buf.len() < total {
        let n = client.read(&mut chunk).await.map_err(|_| Refused)?;
        if n == 0 {
            return Err(Refused);
        }
        add(&counters.bytes_up, n);
        buf.extend_from_slice(&chunk[..n]);
    }
    if buf.len() > total {
        // A second, pipelined request: this proxy handles one per connection.
        return Err(Refused);
    }
    let mut request = head;
    request.extend_from_slice(&buf[head_end..]);
    Ok(request)
}

/// The length of the head including its terminating blank line, once it has all arrived.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Rewrites a request head (ending in the blank line) so its only `Connection` header is
/// `Connection: close`, and returns it with the body length it announces.
fn rewrite_head(head: &[u8]) -> Result<(Vec<u8>, usize), Refused> {
    let text = &head[..head.len() - 4];
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let request_line = lines.next().ok_or(Refused)?;
    let mut out = Vec::with_capacity(head.len() + 20);
    out.extend_from_slice(request_line);
    out.extend_from_slice(b"\r\n");
    let mut body_len: Option<usize> = None;
    for line in lines {
        let colon = line.iter().position(|&b| b == b':').ok_or(Refused)?;
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"connection") || name.eq_ignore_ascii_case(b"keep-alive") {
            continue;
        }
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Refused);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let len = std::str::from_utf8(value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or(Refused)?;
            if body_len.is_some_and(|seen| seen != len) {
                return Err(Refused);
            }
            body_len = Some(len);
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    Ok((out, body_len.unwrap_or(0)))
}

/// Sends `request` on a fresh upstream connection and reads the response to end of stream.
async fn round_trip(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    stream.write_all(request).await?;
    let mut response = Vec::new();
    (&mut stream)
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut response)
        .await?;
    if response.len() > MAX_MESSAGE_BYTES {
        return Err(std::io::Error::other(
            "the response is larger than the proxy reads",
        ));
    }
    Ok(response)
}

/// Sends `bytes` to the client, counting them, then closes its side in order.
async fn send_to_client(
    client: &mut TcpStream,
    bytes: &[u8],
    counters: &FaultCounters,
) -> std::io::Result<()> {
    client.write_all(bytes).await?;
    add(&counters.bytes_down, bytes.len());
    client.shutdown().await
}

/// One client connection of a fault proxy: read, decide, carry out.
async fn exchange(
    mut client: TcpStream,
    upstream: SocketAddr,
    dice: Arc<Mutex<Dice>>,
    counters: Arc<FaultCounters>,
) {
    let Ok(request) = read_request(&mut client, &counters).await else {
        bump(&counters.refused);
        return;
    };
    let (fate, delay) = dice.lock().unwrap_or_else(PoisonError::into_inner).roll();
    if let Some(delay) = delay {
        bump(&counters.delayed_requests);
        tokio::time::sleep(delay).await;
    }
    if fate == Fate::DropRequest {
        bump(&counters.dropped_requests);
        bump(&counters.cut);
        return;
    }
    let response = match fate {
        Fate::Duplicate => {
            bump(&counters.duplicated_requests);
            match round_trip(upstream, &request).await {
                Ok(_discarded) => round_trip(upstream, &request).await,
                Err(error) => Err(error),
            }
        }
        _ => round_trip(upstream, &request).await,
    };
    let Ok(response) = response else {
        bump(&counters.cut);
        return;
    };
    match fate {
        Fate::DropResponse => {
            bump(&counters.dropped_responses);
            bump(&counters.cut);
        }
        Fate::Truncate(pick) => {
            bump(&counters.truncated_responses);
            bump(&counters.cut);
            let keep = usize::try_from(pick % response.len().max(1) as u64).unwrap_or(0);
            // The client may already have given up; the exchange is over either way.
            let _ = send_to_client(&mut client, &response[..keep], &counters).await;
        }
        Fate::Deliver | Fate::Duplicate | Fate::DropRequest => {
            match send_to_client(&mut client, &response, &counters).await {
                Ok(()) => bump(&counters.delivered),
                Err(_) => bump(&counters.cut),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The shaping proxy
// ---------------------------------------------------------------------------------------------

/// The link a [`ShapingProxy`] emulates. [`ShapeConfig::default`] is a weak mobile link: 300 ms
/// one way, 256 kbit/s each way, cut every 3 to 10 s for 1 to 5 s, forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeConfig {
    /// The fixed delay of every byte from one end to the other, in milliseconds.
    pub one_way_delay_ms: u64,
    /// The bandwidth of each direction, shared by all connections, in kilobits (1000 bits) per
    /// second; 0 means unlimited.
    pub kbit_per_s: u64,
    /// The time between the link coming (back) up and the next cut, uniform in the inclusive
    /// range, in milliseconds; `None` for a link that is never cut.
    pub cut_every_ms: Option<(u64, u64)>,
    /// How long the link stays down after a cut, uniform in the inclusive range, in milliseconds.
    pub down_for_ms: (u64, u64),
    /// The seed of the cut schedule.
    pub seed: u64,
    /// How many cuts happen before the link stays up for good; `None`: no bound.
    pub max_cuts: Option<usize>,
}

impl Default for ShapeConfig {
    fn default() -> Self {
        Self {
            one_way_delay_ms: 300,
            kbit_per_s: 256,
            cut_every_ms: Some((3_000, 10_000)),
            down_for_ms: (1_000, 5_000),
            seed: 0,
            max_cuts: None,
        }
    }
}

impl ShapeConfig {
    /// A link that only relays: no delay, unlimited bandwidth, never cut.
    pub fn transparent() -> Self {
        Self {
            one_way_delay_ms: 0,
            kbit_per_s: 0,
            cut_every_ms: None,
            down_for_ms: (0, 0),
            seed: 0,
            max_cuts: None,
        }
    }

    /// A link that is slow and far but never cut.
    pub fn stable(one_way_delay_ms: u64, kbit_per_s: u64) -> Self {
        Self {
            one_way_delay_ms,
            kbit_per_s,
            ..Self::transparent()
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some((low, high)) = self.cut_every_ms {
            ensure!(low <= high, "cut_every_ms {low}..={high} is empty");
            ensure!(high > 0, "cut_every_ms must allow some time between cuts");
        }
        let (low, high) = self.down_for_ms;
        ensure!(low <= high, "down_for_ms {low}..={high} is empty");
        Ok(())
    }
}

/// What a [`ShapingProxy`] (or [`CountingProxy`]) has done so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LinkStats {
    /// Bytes the clients sent into the link.
    pub bytes_up: u64,
    /// Bytes the link delivered to the clients.
    pub bytes_down: u64,
    /// Client connections accepted, refused ones included.
    pub accepted: u64,
    /// Live connections closed by a cut.
    pub cut: u64,
    /// Connections closed at once because the link was down or the upstream could not be
    /// reached.
    pub refused: u64,
    /// Cuts so far.
    pub cuts: u64,
}

#[derive(Debug, Default)]
struct LinkCounters {
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    accepted: AtomicU64,
    cut: AtomicU64,
    refused: AtomicU64,
    cuts: AtomicU64,
}

impl LinkCounters {
    fn snapshot(&self) -> LinkStats {
        LinkStats {
            bytes_up: load(&self.bytes_up),
            bytes_down: load(&self.bytes_down),
            accepted: load(&self.accepted),
            cut: load(&self.cut),
            refused: load(&self.refused),
            cuts: load(&self.cuts),
        }
    }
}

/// One direction of the link: a bandwidth budget shared by every connection, then a delay.
#[derive(Debug)]
struct Lane {
    free_at: Mutex<Instant>,
    delay: Duration,
    kbit_per_s: u64,
}

impl Lane {
    fn new(config: &ShapeConfig) -> Self {
        Self {
            free_at: Mutex::new(Instant::now()),
            delay: Duration::from_millis(config.one_way_delay_ms),
            kbit_per_s: config.kbit_per_s,
        }
    }

    /// Puts `n` bytes on the link after those already on it and returns when they arrive.
    fn stamp(&self, n: usize) -> Instant {
        // n·8 bits at kbit·1000 bit/s is n·8·10⁶ / kbit nanoseconds; kbit 0 is unlimited.
        let on_the_wire = Duration::from_nanos(
            (n as u64)
                .saturating_mul(8_000_000)
                .checked_div(self.kbit_per_s)
                .unwrap_or(0),
        );
        let now = Instant::now();
        let mut free_at = self.free_at.lock().unwrap_or_else(PoisonError::into_inner);
        let done = (*free_at).max(now) + on_the_wire;
        *free_at = done;
        done + self.delay
    }
}

/// What the connections of a shaping proxy share.
#[derive(Debug)]
struct Link {
    upstream: SocketAddr,
    up: Lane,
    down: Lane,
    is_down: AtomicBool,
    counters: LinkCounters,
}

/// A byte-level TCP proxy that emulates a weak mobile link.
///
/// Each direction carries bytes at `kbit_per_s`, one budget shared by all connections, and
/// delivers them `one_way_delay_ms` later, in order, half-closes included; a request and its
/// response therefore take at least twice the delay plus their serialisation time. A controller
/// cuts the link at seeded random times: every live connection is reset on both sides, and until
/// the link comes back new connections are accepted and reset at once (a userspace stand-in
/// for "connection refused"). After `max_cuts` cuts the link stays up. Stopped when dropped.
#[derive(Debug)]
pub struct ShapingProxy {
    addr: SocketAddr,
    link: Arc<Link>,
    accept_task: JoinHandle<()>,
    cut_task: Option<JoinHandle<()>>,
}

impl ShapingProxy {
    /// Starts a shaping proxy on a free loopback port in front of `upstream`.
    ///
    /// # Errors
    /// When a range in `config` is empty or no loopback port can be bound.
    pub async fn start(upstream: SocketAddr, config: ShapeConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let (listener, addr) = bind_loopback().await?;
        let link = Arc::new(Link {
            upstream,
            up: Lane::new(&config),
            down: Lane::new(&config),
            is_down: AtomicBool::new(false),
            counters: LinkCounters::default(),
        });
        let (cuts, cut_rx) = watch::channel(0u64);
        let cut_task = config
            .cut_every_ms
            .filter(|_| config.max_cuts != Some(0))
            .map(|every| tokio::spawn(cut_now_and_then(config, every, link.clone(), cuts)));
        let accept_task = tokio::spawn(accept_shaped(listener, link.clone(), cut_rx));
        Ok(Self {
            addr,
            link,
            accept_task,
            cut_task,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of `path` (which starts with `/`) through this proxy.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> LinkStats {
        self.link.counters.snapshot()
    }

    /// Whether the link is down right now.
    pub fn is_down(&self) -> bool {
        self.link.is_down.load(Ordering::SeqCst)
    }
}

impl Drop for ShapingProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        if let Some(task) = &self.cut_task {
            task.abort();
        }
    }
}

/// Cuts the link on the seeded schedule until `max_cuts`, then leaves it up.
async fn cut_now_and_then(
    config: ShapeConfig,
    every: (u64, u64),
    link: Arc<Link>,
    cuts: watch::Sender<u64>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut done = 0usize;
    while config.max_cuts.is_none_or(|max| done < max) {
        let up_for = rng.random_range(every.0..=every.1);
        let down_for = rng.random_range(config.down_for_ms.0..=config.down_for_ms.1);
        tokio::time::sleep(Duration::from_millis(up_for)).await;
        // Down first, so a connection accepted during the cut is refused rather than missed.
        link.is_down.store(true, Ordering::SeqCst);
        bump(&link.counters.cuts);
        cuts.send_modify(|generation| *generation += 1);
        done += 1;
        tokio::time::sleep(Duration::from_millis(down_for)).await;
        link.is_down.store(false, Ordering::SeqCst);
    }
}

/// Accepts clients until aborted; aborting drops the join set, which aborts every connection.
async fn accept_shaped(listener: TcpListener, link: Arc<Link>, cuts: watch::Receiver<u64>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        bump(&link.counters.accepted);
        // Subscribe before looking at the state, so a cut that lands in between is not missed.
        let mut cut = cuts.clone();
        cut.mark_unchanged();
        if link.is_down.load(Ordering::SeqCst) {
            bump(&link.counters.refused);
            reset(client);
            continue;
        }
        while connections.try_join_next().is_some() {}
        connections.spawn(shaped_connection(client, link.clone(), cut));
    }
}

/// Resolves at the next cut; never if the cut schedule has ended.
async fn next_cut(cut: &mut watch::Receiver<u64>) {
    if cut.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How a shaped connection ended.
enum Ending {
    /// Both directions reached end of stream and were delivered.
    Closed,
    /// A socket failed; the other is reset too.
    Failed,
    /// The link was cut.
    Cut,
}

/// One client connection of a shaping proxy, relayed until both sides close, a socket fails or
/// the link is cut.
async fn shaped_connection(mut client: TcpStream, link: Arc<Link>, mut cut: watch::Receiver<u64>) {
    let connected = tokio::select! {
        () = next_cut(&mut cut) => None,
        upstream = TcpStream::connect(link.upstream) => Some(upstream),
    };
    let mut upstream = match connected {
        None => {
            bump(&link.counters.cut);
            reset(client);
            return;
        }
        Some(Err(_)) => {
            bump(&link.counters.refused);
            reset(client);
            return;
        }
        Some(Ok(upstream)) => upstream,
    };
    let ending = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let c = &link.counters;
        let up = pipe(
            client_read,
            upstream_write,
            &link.up,
            Some(&c.bytes_up),
            None,
        );
        let down = pipe(
            upstream_read,
            client_write,
            &link.down,
            None,
            Some(&c.bytes_down),
        );
        tokio::select! {
            () = next_cut(&mut cut) => Ending::Cut,
            relayed = async { tokio::try_join!(up, down) } => match relayed {
                Ok(_) => Ending::Closed,
                Err(_) => Ending::Failed,
            },
        }
    };
    match ending {
        Ending::Closed => {}
        Ending::Failed | Ending::Cut => {
            if matches!(ending, Ending::Cut) {
                bump(&link.counters.cut);
            }
            reset(client);
            reset(upstream);
        }
    }
}

/// Carries one direction of a connection over `lane`: a reader stamps each chunk with its
/// arrival time, a writer waits for that time and writes; end of stream becomes a half-close.
async fn pipe<R, W>(
    mut from: R,
    mut to: W,
    lane: &Lane,
    count_read: Option<&AtomicU64>,
    count_written: Option<&AtomicU64>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (chunks, mut arriving) = mpsc::channel::<(Instant, Vec<u8>)>(PIPE_CHUNKS);
    let reader = async move {
        let mut buf = vec![0u8; SEGMENT_BYTES];
        loop {
            let n = from.read(&mut buf).await?;
            if let Some(counter) = count_read {
                add(counter, n);
            }
            // An empty chunk is the end of stream, stamped behind the last bytes.
            if chunks
                .send((lane.stamp(n), buf[..n].to_vec()))
                .await
                .is_err()
                || n == 0
            {
                return Ok::<(), std::io::Error>(());
            }
        }
    };
    let writer = async move {
        while let Some((at, bytes)) = arriving.recv().await {
            if at > Instant::now() {
                tokio::time::sleep_until(at).await;
            }
            if bytes.is_empty() {
                return to.shutdown().await;
            }
            to.write_all(&bytes).await?;
            if let Some(counter) = count_written {
                add(counter, bytes.len());
            }
        }
        Ok(())
    };
    tokio::try_join!(reader, writer).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// The counting proxy
// ---------------------------------------------------------------------------------------------

/// A transparent TCP proxy that only counts bytes on the wire: a [`ShapingProxy`] with no delay,
/// unlimited bandwidth and no cuts. Stopped when dropped.
#[derive(Debug)]
pub struct CountingProxy {
    inner: ShapingProxy,
}

impl CountingProxy {
    /// Starts a counting proxy on a free loopback port in front of `upstream`.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let inner = ShapingProxy::start(upstream, ShapeConfig::transparent()).await?;
        Ok(Self { inner })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr()
    }

    /// The absolute URL of `path` (which starts with `/`) through this proxy.
    pub fn url(&self, path: &str) -> String {
        self.inner.url(path)
    }

    /// The bytes and connections seen so far.
    pub fn stats(&self) -> LinkStats {
        self.inner.stats()
    }
}
