//! When to send, when to retry and how much to send: the gather window for local edits,
//! retry delays (short and flat after a network failure, exponential backoff with jitter and a
//! cap only for a server that answers errors), and a chunk size that adapts to the link:
//! counted in bytes on the wire, grown while a round's time is dominated by the link's latency
//! rather than by the transfer, and after a cut sized from the throughput measured on recent
//! rounds.

/// How long a push that only local edits call for waits, in ms, counted from the first edit
/// not yet sent. The edits of one burst — a form save writes several documents, a person
/// changes a few fields in a row — then travel in one request instead of one request per
/// round trip, and each other device gets one notice and one pull for them, not one per
/// round. A field officer never notices a tenth of a second. "Sync now", the app's start,
/// the network coming back and a notice from the server still send at once, carrying any
/// waiting edits along. 250 ms was measured first: the harness's S3 burst (100 edits in
/// ~180 ms) then went in one push, but reached the other device ~250 ms later than without a
/// window; 100 ms keeps a form save in one request and costs about one extra push per burst.
pub const GATHER_MS: i64 = 100;

/// Network failures in a row retried at the flat [`RetryPolicy::network_ms`] interval before
/// the interval starts doubling towards [`RetryPolicy::network_cap_ms`]: with the default
/// policy, 5–10 s of retries every 250–500 ms.
pub const NETWORK_FLAT_ATTEMPTS: u32 = 20;

/// When to retry a failed round, with "equal jitter": each delay is between half and all of a
/// nominal delay.
///
/// Two kinds of failure are told apart. A **network failure** (a cut, a refused connection, a
/// timeout) says nothing about the server's load, and a link that is still down refuses the
/// retry's connection before any of its body goes: it is retried at a short, flat interval
/// ([`RetryPolicy::network_ms`]) so the device is back the moment the link is (a link that
/// flaps is down for seconds at a time, and half the interval is lost on average at each
/// return), and the interval only grows, slowly, to a few seconds
/// ([`RetryPolicy::network_cap_ms`]) when the link stays down. A **server that answers an
/// error** (5xx, 429, 408) is overloaded or broken: it gets exponential backoff,
/// [`RetryPolicy::base_ms`] doubling up to [`RetryPolicy::cap_ms`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Backoff before the first retry after a server error, in ms.
    pub base_ms: i64,
    /// Longest backoff after server errors, in ms.
    pub cap_ms: i64,
    /// The nominal delay between retries after a network failure, in ms.
    pub network_ms: i64,
    /// Longest delay after network failures, in ms.
    pub network_cap_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 1_000,
            cap_ms: 60_000,
            network_ms: 500,
            network_cap_ms: 4_000,
        }
    }
}

/// Between half and all of `full`, drawn with `jitter`.
fn equal_jitter(full: i64, jitter: u32) -> i64 {
    let full = full.max(0);
    let half = full / 2;
    half + (i64::from(jitter) % (full - half + 1))
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (1-based) after a server answered an error;
    /// `jitter` is a random number the caller draws.
    pub fn delay_ms(&self, attempt: u32, jitter: u32) -> i64 {
        let exp = attempt.saturating_sub(1).min(30);
        let full = self.base_ms.saturating_mul(1i64 << exp).min(self.cap_ms);
        equal_jitter(full, jitter)
    }

    /// The delay before retry number `attempt` (1-based) after network failures in a row:
    /// flat for [`NETWORK_FLAT_ATTEMPTS`], then doubling up to [`RetryPolicy::network_cap_ms`].
    pub fn network_delay_ms(&self, attempt: u32, jitter: u32) -> i64 {
        let exp = attempt.saturating_sub(NETWORK_FLAT_ATTEMPTS).min(30);
        let full = self
            .network_ms
            .saturating_mul(1i64 << exp)
            .min(self.network_cap_ms);
        equal_jitter(full, jitter)
    }
}

/// Sizes request and response chunks to the link.
///
/// The chunk is a number of bytes **on the wire**. A message is deflated as a whole, so the
/// sizer also learns how many wire bytes a document byte becomes (from the last message that
/// carried documents) and turns the chunk into a budget of document bytes
/// ([`ChunkSizer::doc_budget`]). Until it has seen one, it assumes no compression, so a first
/// request is small on the wire, and its round tells the link's latency.
///
/// A round costs a fixed latency (round trip, the server's set-up) plus a time per byte
/// (transfer, the server's work). The sizer estimates the latency from rounds that carried
/// almost nothing ([`SMALL_ROUND`]) or from two full rounds of different sizes, and doubles
/// the chunk while the doubled chunk's transfer would still take no longer than the latency:
/// up to there a bigger chunk saves round trips; beyond it mostly puts more bytes at risk of a
/// cut. A full round within [`FAST_MS`] always lets the chunk double (a fast link).
///
/// A cut does not halve the chunk: the next chunk is what the link carried in
/// [`TARGET_ROUND_MS`] over the recent successful rounds ([`ChunkSizer::throughput`], bytes
/// per second of rounds larger than [`SMALL_ROUND`], latency included), never more than the
/// chunk was and never less than [`MIN_CHUNK`]. A chunk that fits the link keeps its size, so a
/// flapping link does not shrink every request to one that pays a new connection for a few
/// bytes; one that takes much longer than the target shrinks at once to one that does not.
/// Only when requests carrying a chunk are cut twice in a row, with no successful round of a
/// chunk between, is the chunk halved: the link may have become slower than the rounds it was
/// measured on, and no round would finish to tell. Latency-based growth then doubles only up to
/// the size after the cut and adds a quarter per good round above it.
///
/// Full rounds slower than [`SLOW_MS`] whose transfer outweighs the latency halve the chunk
/// only two in a row: growth by latency stops short of where a grown chunk's transfer would
/// outweigh the latency, so a chunk halved by one slow round would stay halved for the rest of
/// the upload, and one round just over the limit is as often the link's or the server's jitter
/// as a slower link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizer {
    size: u32,
    /// Wire bytes per 1,000 document bytes, learned from the last message with documents.
    per_mille: u32,
    /// Fixed cost of a round in ms, once estimated.
    latency_ms: Option<i64>,
    /// The last full round: its bytes on the wire and its time in ms.
    last_full: Option<(usize, i64)>,
    /// Latency-based growth doubles the chunk only up to this size.
    ceiling: u32,
    /// The last [`THROUGHPUT_ROUNDS`] successful rounds over [`SMALL_ROUND`]: bytes on the
    /// wire and ms, oldest first (zeros: none yet).
    recent: [(u32, u32); THROUGHPUT_ROUNDS],
    /// Requests over [`SMALL_ROUND`] cut since the last successful one.
    cut_chunks: u32,
    /// The last full round took longer than [`SLOW_MS`] and outweighed the latency.
    slow: bool,
    /// The shortest successful round, in ms: at least a round trip.
    min_round_ms: Option<i64>,
}

/// How many recent rounds the throughput is measured over.
pub const THROUGHPUT_ROUNDS: usize = 4;
/// How long a round should take after a cut, in ms: the chunk after a cut is the measured
/// throughput times this. Links that flap are cut every few seconds; a round of about two
/// seconds usually finishes between cuts and still carries enough to be worth its round trip.
pub const TARGET_ROUND_MS: u64 = 2_000;

/// Smallest chunk, in bytes on the wire.
pub const MIN_CHUNK: u32 = 4 * 1024;
/// First chunk, in bytes on the wire.
pub const START_CHUNK: u32 = 16 * 1024;
/// Largest chunk, in bytes on the wire.
pub const MAX_CHUNK: u32 = 1024 * 1024;
/// Most document bytes (before the message's deflate) one chunk carries, however well they
/// compress: bounds the server's work for one request.
pub const MAX_CHUNK_DOC_BYTES: usize = 2 * 1024 * 1024;
/// A full round that finishes within this many ms lets the chunk double.
pub const FAST_MS: i64 = 800;
/// A round slower than this many ms halves the chunk.
pub const SLOW_MS: i64 = 3_000;
/// A round of at most this many bytes on the wire each way (responses count half) measures
/// the link's latency.
pub const SMALL_ROUND: usize = 4 * 1024;
/// Fewest document bytes in a message to learn the compression from.
const LEARN_FROM_BYTES: usize = 4 * 1024;

impl Default for ChunkSizer {
    fn default() -> Self {
        ChunkSizer {
            size: START_CHUNK,
            per_mille: 1000,
            latency_ms: None,
            last_full: None,
            ceiling: MAX_CHUNK,
            recent: [(0, 0); THROUGHPUT_ROUNDS],
            cut_chunks: 0,
            slow: false,
            min_round_ms: None,
        }
    }
}

impl ChunkSizer {
    /// The current chunk size in bytes on the wire.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// How many document bytes (as the message carries them, before its deflate) one chunk
    /// holds.
    pub fn doc_budget(&self) -> usize {
        let budget = u64::from(self.size) * 1000 / u64::from(self.per_mille.max(1));
        usize::try_from(budget)
            .unwrap_or(usize::MAX)
            .min(MAX_CHUNK_DOC_BYTES)
    }

    /// The link's latency (fixed cost of a round) in ms, once estimated.
    pub fn latency_ms(&self) -> Option<i64> {
        self.latency_ms
    }

    /// Whether a request that failed `elapsed_ms` after it was sent may have reached the
    /// server: not when it failed within a quarter of the shortest round seen (a round is at
    /// least a round trip, so this is well within a one-way trip), as a connection refused at
    /// once does; always before any round. The shortest round, not the latency estimate:
    /// rounds that pay a connection's set-up can inflate that.
    pub fn could_have_arrived(&self, elapsed_ms: i64) -> bool {
        self.min_round_ms
            .is_none_or(|shortest| elapsed_ms.saturating_mul(4) >= shortest)
    }

    /// A round that followed a failed one (on a new connection, which paid its set-up: a
    /// handshake's round trip, on a link that flaps) carried `bytes` in `elapsed_ms`. It counts
    /// for the throughput, as every round after a cut pays that set-up, but not for the
    /// latency or the chunk's growth: its set-up made it slower than the rounds that follow on
    /// the same connection, and taken for latency it would grow the chunk past what those
    /// rounds carry within their latency, putting more bytes at risk at each cut.
    pub fn on_success_after_failure(&mut self, bytes: usize, elapsed_ms: i64) {
        let elapsed = elapsed_ms.max(0);
        self.min_round_ms = Some(self.min_round_ms.map_or(elapsed, |m| m.min(elapsed)));
        if bytes > SMALL_ROUND {
            self.cut_chunks = 0;
            self.recent.rotate_left(1);
            self.recent[THROUGHPUT_ROUNDS - 1] = (
                u32::try_from(bytes).unwrap_or(u32::MAX),
                u32::try_from(elapsed).unwrap_or(u32::MAX),
            );
        }
    }

    /// A message carrying `doc_bytes` of documents went over the wire as `wire_bytes`.
    pub fn on_encoded(&mut self, doc_bytes: usize, wire_bytes: usize) {
        if doc_bytes >= LEARN_FROM_BYTES {
            let per_mille = (wire_bytes as u64).saturating_mul(1000) / doc_bytes as u64;
            self.per_mille = per_mille.clamp(20, 1000) as u32;
        }
    }

    /// A round of `bytes` on the wire (the request, or half the response if larger) completed
    /// in `elapsed_ms`.
    pub fn on_success(&mut self, bytes: usize, elapsed_ms: i64) {
        let elapsed = elapsed_ms.max(0);
        self.min_round_ms = Some(self.min_round_ms.map_or(elapsed, |m| m.min(elapsed)));
        if bytes > SMALL_ROUND {
            self.cut_chunks = 0;
            self.recent.rotate_left(1);
            self.recent[THROUGHPUT_ROUNDS - 1] = (
                u32::try_from(bytes).unwrap_or(u32::MAX),
                u32::try_from(elapsed).unwrap_or(u32::MAX),
            );
        }
        if bytes <= SMALL_ROUND && bytes < self.size as usize / 2 {
            self.latency_ms = Some(elapsed);
        }
        if bytes < self.size as usize / 2 {
            // A round that was not full says nothing about a bigger one.
            return;
        }
        if let Some((b0, t0)) = self.last_full {
            let ((small_b, small_t), (large_b, large_t)) = if b0 < bytes {
                ((b0, t0), (bytes, elapsed))
            } else {
                ((bytes, elapsed), (b0, t0))
            };
            // Two sizes at least 1.5× apart: the line through them splits latency from
            // transfer.
            if large_b * 2 >= small_b * 3 {
                let extra_ms = (large_t - small_t).max(0) as i128;
                let extra_bytes = (large_b - small_b) as i128;
                let small_transfer = extra_ms * small_b as i128 / extra_bytes;
                self.latency_ms = Some((small_t as i128 - small_transfer).max(0) as i64);
            }
        }
        self.last_full = Some((bytes, elapsed));
        // This round's transfer time, beyond the latency (all of it while that is unknown).
        let transfer = i128::from(elapsed - self.latency_ms.unwrap_or(0).min(elapsed));
        let latency = self.latency_ms.map(i128::from);
        let slow = elapsed > SLOW_MS && latency.is_none_or(|l| transfer > l);
        let was_slow = std::mem::replace(&mut self.slow, slow);
        if slow {
            // Hysteresis: one slow round (a round just over the limit on a link whose rounds
            // sit near it, a stall on the server) changes nothing; the second in a row halves.
            if was_slow {
                self.size = (self.size / 2).max(MIN_CHUNK);
            }
        } else if elapsed <= FAST_MS {
            self.size = self.size.saturating_mul(2).min(MAX_CHUNK);
        } else if let Some(latency) = latency {
            let target = if self.size < self.ceiling {
                self.size.saturating_mul(2).min(self.ceiling)
            } else {
                self.size.saturating_add(self.size / 4)
            }
            .min(MAX_CHUNK);
            // Grow if the grown chunk's transfer (this round's, scaled) stays within the latency.
            if transfer * i128::from(target) <= latency * bytes as i128 {
                self.ceiling = self.ceiling.max(target);
                self.size = target;
            }
        }
    }

    /// The link's throughput over the recent successful rounds larger than [`SMALL_ROUND`],
    /// in bytes on the wire per second (each round's latency included); `None` before any.
    pub fn throughput(&self) -> Option<u64> {
        let (bytes, ms) = self.recent.iter().fold((0u64, 0u64), |(b, t), &(rb, rt)| {
            (b + u64::from(rb), t + u64::from(rt))
        });
        (bytes > 0).then(|| bytes.saturating_mul(1000) / ms.max(1))
    }

    /// A request of `bytes` on the wire was cut or timed out: the next chunk is what the link
    /// carries in [`TARGET_ROUND_MS`], if that is less than the chunk; half the chunk when this
    /// is the second chunk in a row to be cut (see the type's documentation).
    pub fn on_cut(&mut self, bytes: usize) {
        if bytes > SMALL_ROUND {
            self.cut_chunks += 1;
        }
        if self.cut_chunks >= 2 {
            self.size = (self.size / 2).max(MIN_CHUNK);
        } else if let Some(per_s) = self.throughput() {
            let fits = per_s.saturating_mul(TARGET_ROUND_MS) / 1000;
            let fits = u32::try_from(fits).unwrap_or(u32::MAX).max(MIN_CHUNK);
            self.size = self.size.min(fits);
        }
        self.ceiling = self.size;
        self.last_full = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_network_failures_retries_stay_flat_and_never_exceed_a_few_seconds() {
        let p = RetryPolicy::default();
        for jitter in [0, 1, 999, u32::MAX] {
            for attempt in 1..=NETWORK_FLAT_ATTEMPTS {
                let d = p.network_delay_ms(attempt, jitter);
                assert!((250..=500).contains(&d), "attempt {attempt}: {d} ms");
            }
            for attempt in [NETWORK_FLAT_ATTEMPTS + 1, 50, u32::MAX] {
                let d = p.network_delay_ms(attempt, jitter);
                assert!((250..=4_000).contains(&d), "attempt {attempt}: {d} ms");
            }
        }
    }

    #[test]
    fn backoff_after_server_errors_doubles_within_jitter_and_stops_at_the_cap() {
        let p = RetryPolicy::default();
        for jitter in [0, 1, 999, u32::MAX] {
            let d1 = p.delay_ms(1, jitter);
            assert!((500..=1_000).contains(&d1), "{d1}");
            let d3 = p.delay_ms(3, jitter);
            assert!((2_000..=4_000).contains(&d3), "{d3}");
            let d20 = p.delay_ms(20, jitter);
            assert!((30_000..=60_000).contains(&d20), "{d20}");
        }
    }

    /// A link of `latency_ms` per round and `kbyte_per_s`: the time a round of `bytes` takes.
    fn link(latency_ms: i64, kbyte_per_s: i64) -> impl Fn(usize) -> i64 {
        move |bytes| latency_ms + bytes as i64 / kbyte_per_s
    }

    /// Runs `rounds` full rounds over `round_ms`, starting with one small round, and returns
    /// the chunk size after each.
    fn settle(c: &mut ChunkSizer, round_ms: impl Fn(usize) -> i64, rounds: usize) -> Vec<u32> {
        c.on_success(600, round_ms(600));
        (0..rounds)
            .map(|_| {
                let bytes = c.size() as usize;
                c.on_success(bytes, round_ms(bytes));
                c.size()
            })
            .collect()
    }

    #[test]
    fn on_a_fast_link_full_chunks_double_up_to_the_maximum() {
        let mut c = ChunkSizer::default();
        c.on_success(START_CHUNK as usize, 200);
        assert_eq!(c.size(), 2 * START_CHUNK);
        c.on_success(100, 200);
        assert_eq!(
            c.size(),
            2 * START_CHUNK,
            "a small request says nothing about a bigger chunk"
        );
        for _ in 0..20 {
            let bytes = c.size() as usize;
            c.on_success(bytes, 10);
        }
        assert_eq!(c.size(), MAX_CHUNK);
    }

    #[test]
    fn on_a_600_ms_link_chunks_grow_until_their_transfer_takes_as_long_as_the_round_trip() {
        // 600 ms round trip at 256 kbit/s (32 KB/s): a chunk of ~19 KB takes as long to send
        // as the round trip.
        let mut c = ChunkSizer {
            size: MIN_CHUNK,
            ..ChunkSizer::default()
        };
        let sizes = settle(&mut c, link(600, 32), 10);
        assert_eq!(sizes.last(), Some(&(16 * 1024)), "{sizes:?}");
        assert!(
            sizes.windows(2).skip(3).all(|w| w[0] == w[1]),
            "it settles: {sizes:?}"
        );
        // The same speed with a 2.5 s round trip (a satellite) affords chunks of ~80 KB.
        let mut far = ChunkSizer::default();
        let sizes = settle(&mut far, link(2_500, 32), 10);
        assert_eq!(sizes.last(), Some(&(64 * 1024)), "{sizes:?}");
    }

    #[test]
    fn the_latency_is_told_apart_from_the_transfer_by_two_full_rounds_of_different_sizes() {
        let round = link(600, 32);
        let mut c = ChunkSizer::default();
        c.on_success(8 * 1024, round(8 * 1024));
        c.on_success(16 * 1024, round(16 * 1024));
        let latency = c.latency_ms().expect("estimated");
        assert!((590..=610).contains(&latency), "{latency} ms");
    }

    #[test]
    fn two_slow_rounds_in_a_row_halve_the_chunk() {
        let mut c = ChunkSizer::default();
        c.on_success(START_CHUNK as usize, SLOW_MS + 1);
        assert_eq!(c.size(), START_CHUNK, "one slow round changes nothing");
        c.on_success(START_CHUNK as usize, SLOW_MS + 1);
        assert_eq!(c.size(), START_CHUNK / 2, "the second in a row halves it");
    }

    #[test]
    fn one_round_just_over_the_slow_limit_leaves_the_chunk_where_the_link_keeps_it() {
        // 2.5 s round trip at 32 KB/s: chunks settle at 64 KiB, rounds of ~4.5 s.
        let round = link(2_500, 32);
        let mut c = ChunkSizer::default();
        let sizes = settle(&mut c, &round, 10);
        let settled = c.size();
        assert_eq!(settled, 64 * 1024, "{sizes:?}");
        // One round takes 3.1 s more than the link's usual (jitter, a busy server).
        c.on_success(settled as usize, round(settled as usize) + 3_100);
        assert_eq!(c.size(), settled);
        for _ in 0..5 {
            let bytes = c.size() as usize;
            c.on_success(bytes, round(bytes));
        }
        assert_eq!(c.size(), settled, "the rounds after it keep the chunk");
    }

    #[test]
    fn a_cut_keeps_a_chunk_the_link_carries_within_the_target_round_time() {
        // 2.5 s round trip at 32 KB/s: chunks settle at 64 KiB, rounds of ~4.5 s, ~14 KB/s.
        let round = link(2_500, 32);
        let mut c = ChunkSizer::default();
        settle(&mut c, &round, 10);
        assert_eq!(c.size(), 64 * 1024);
        let per_s = c.throughput().expect("measured");
        assert!((13_000..=16_000).contains(&per_s), "{per_s} B/s");
        c.on_cut(c.size() as usize);
        let expected = (per_s * TARGET_ROUND_MS / 1000) as u32;
        assert_eq!(
            c.size(),
            expected,
            "what the link carries in the target time"
        );
        c.on_cut(300);
        assert_eq!(c.size(), expected, "nor does a probe's cut");
    }

    #[test]
    fn a_cut_on_a_link_that_carries_the_chunk_quickly_leaves_the_chunk_as_it_was() {
        // 600 ms round trip at 32 KB/s: 16 KiB rounds of ~1.1 s.
        let mut c = ChunkSizer {
            size: MIN_CHUNK,
            ..ChunkSizer::default()
        };
        let round = link(600, 32);
        settle(&mut c, &round, 10);
        let before = c.size();
        assert_eq!(before, 16 * 1024);
        for _ in 0..5 {
            // A cut, the probe, then a round that gets through before the next cut.
            c.on_cut(c.size() as usize);
            c.on_success(200, round(200));
            let bytes = c.size() as usize;
            c.on_success(bytes, round(bytes));
        }
        assert_eq!(c.size(), before, "no halving at every cut");
    }

    #[test]
    fn after_a_cut_growth_on_a_slow_link_stays_gradual_and_small_rounds_do_not_count() {
        let round = link(2_500, 32);
        let mut c = ChunkSizer::default();
        settle(&mut c, &round, 10);
        c.on_cut(c.size() as usize);
        let after_cut = c.size();
        let bytes = c.size() as usize;
        c.on_success(bytes, round(bytes));
        assert_eq!(c.size(), after_cut + after_cut / 4, "a quarter per round");
        let per_s = c.throughput();
        c.on_success(200, 2_500);
        assert_eq!(c.throughput(), per_s, "a probe is all latency: not counted");
    }

    #[test]
    fn chunks_cut_twice_in_a_row_without_a_good_round_between_are_halved() {
        // The link was fast; it becomes too slow for the chunk to finish between cuts.
        let mut c = ChunkSizer::default();
        for _ in 0..10 {
            c.on_success(c.size() as usize, 100);
        }
        let big = c.size();
        c.on_cut(big as usize);
        assert_eq!(c.size(), big, "the measured link carried it quickly");
        c.on_cut(300);
        assert_eq!(c.size(), big, "a probe's cut says nothing about the chunk");
        c.on_cut(big as usize);
        assert_eq!(c.size(), big / 2);
        c.on_cut(big as usize / 2);
        assert_eq!(c.size(), big / 4);
        // A chunk that gets through ends the streak.
        c.on_success(c.size() as usize, 1_500);
        let after = c.size();
        c.on_cut(after as usize);
        assert!(c.size() > after / 2, "{} after {after}", c.size());
    }

    #[test]
    fn a_cut_before_any_measured_round_keeps_the_chunk_and_the_floor_holds() {
        let mut c = ChunkSizer::default();
        c.on_cut(c.size() as usize);
        assert_eq!(c.size(), START_CHUNK);
        // A link that carried 5 KB in 10 s: far below the floor.
        c.on_success(5_000, 10_000);
        c.on_cut(c.size() as usize);
        assert_eq!(c.size(), MIN_CHUNK);
    }

    #[test]
    fn a_request_that_failed_within_a_quarter_of_the_shortest_round_cannot_have_reached_the_server()
    {
        let mut c = ChunkSizer::default();
        assert!(
            c.could_have_arrived(0),
            "any failure may have before any round"
        );
        // Rounds of 600 ms, then one of 1,900 ms that paid a new connection's handshake.
        c.on_success(600, 600);
        c.on_success(8 * 1024, 1_900);
        assert!(!c.could_have_arrived(3), "a connection refused at once");
        assert!(!c.could_have_arrived(149));
        assert!(c.could_have_arrived(150), "it may have arrived");
        assert!(c.could_have_arrived(900));
    }

    #[test]
    fn a_round_after_a_failure_counts_for_the_throughput_but_not_for_the_latency_or_growth() {
        // 600 ms round trip at 32 KB/s: chunks settle at 16 KiB, rounds of ~1.1 s.
        let round = link(600, 32);
        let mut c = ChunkSizer {
            size: MIN_CHUNK,
            ..ChunkSizer::default()
        };
        settle(&mut c, &round, 10);
        let (size, latency) = (c.size(), c.latency_ms());
        assert_eq!(size, 16 * 1024);
        let per_s = c.throughput();
        // A cut, then a round on a new connection: half a chunk, and a handshake's round trip
        // more. Taken with the last full round for latency, it would make it ~1.5 s.
        c.on_cut(size as usize);
        c.on_success_after_failure(8 * 1024, 600 + round(8 * 1024));
        assert_eq!(c.latency_ms(), latency, "the latency is the warm rounds'");
        assert_eq!(c.size(), size);
        assert!(
            c.throughput() < per_s,
            "the set-up counts for the throughput"
        );
        for _ in 0..5 {
            let bytes = c.size() as usize;
            c.on_success(bytes, round(bytes));
        }
        assert_eq!(c.size(), size, "the rounds that follow keep the chunk");
    }

    #[test]
    fn the_document_budget_follows_the_compression_learned_from_the_last_message() {
        let mut c = ChunkSizer::default();
        assert_eq!(
            c.doc_budget(),
            START_CHUNK as usize,
            "no compression assumed before a message was seen"
        );
        c.on_encoded(100_000, 25_000);
        assert_eq!(c.doc_budget(), 4 * START_CHUNK as usize);
        c.on_encoded(100, 1);
        assert_eq!(
            c.doc_budget(),
            4 * START_CHUNK as usize,
            "too few bytes to learn from"
        );
        for _ in 0..10 {
            c.on_success(c.size() as usize, 10);
        }
        c.on_encoded(1_000_000, 1_000);
        assert_eq!(c.doc_budget(), MAX_CHUNK_DOC_BYTES);
    }
}
