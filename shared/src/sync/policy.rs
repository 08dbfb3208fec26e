//! When to retry and how much to send: exponential backoff with jitter and a cap, and a chunk
//! size that adapts to the link (start near 32 KiB, grow while requests finish quickly, halve
//! after a cut).

/// Exponential backoff with "equal jitter": the delay for attempt `n` is between half and all
/// of `base · 2ⁿ⁻¹`, capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry, in ms.
    pub base_ms: i64,
    /// Longest delay, in ms.
    pub cap_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 1_000,
            cap_ms: 60_000,
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1-based); `jitter` is a random number the
    /// caller draws.
    pub fn delay_ms(&self, attempt: u32, jitter: u32) -> i64 {
        let exp = attempt.saturating_sub(1).min(30);
        let full = self.base_ms.saturating_mul(1i64 << exp).min(self.cap_ms);
        let half = full / 2;
        half + (i64::from(jitter) % (full - half + 1))
    }
}

/// Sizes request and response chunks to the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizer {
    size: u32,
}

/// Smallest chunk, in bytes.
pub const MIN_CHUNK: u32 = 4 * 1024;
/// First chunk, in bytes.
pub const START_CHUNK: u32 = 32 * 1024;
/// Largest chunk, in bytes.
pub const MAX_CHUNK: u32 = 1024 * 1024;
/// A request that finishes within this many ms lets the chunk grow.
pub const FAST_MS: i64 = 800;
/// A request slower than this many ms shrinks the chunk.
pub const SLOW_MS: i64 = 3_000;

impl Default for ChunkSizer {
    fn default() -> Self {
        ChunkSizer { size: START_CHUNK }
    }
}

impl ChunkSizer {
    /// The current chunk size in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// A request of `bytes` completed in `elapsed_ms`.
    pub fn on_success(&mut self, bytes: usize, elapsed_ms: i64) {
        if elapsed_ms <= FAST_MS && bytes >= self.size as usize / 2 {
            self.size = (self.size.saturating_mul(2)).min(MAX_CHUNK);
        } else if elapsed_ms > SLOW_MS {
            self.size = (self.size / 2).max(MIN_CHUNK);
        }
    }

    /// A request was cut or timed out.
    pub fn on_cut(&mut self) {
        self.size = (self.size / 2).max(MIN_CHUNK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
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

    #[test]
    fn chunks_grow_on_fast_full_requests_and_halve_on_cuts() {
        let mut c = ChunkSizer::default();
        c.on_success(START_CHUNK as usize, 200);
        assert_eq!(c.size(), 2 * START_CHUNK);
        c.on_success(100, 200);
        assert_eq!(
            c.size(),
            2 * START_CHUNK,
            "a small request says nothing about the link"
        );
        c.on_cut();
        c.on_cut();
        assert_eq!(c.size(), START_CHUNK / 2);
        for _ in 0..20 {
            c.on_cut();
        }
        assert_eq!(c.size(), MIN_CHUNK);
        for _ in 0..20 {
            c.on_success(MAX_CHUNK as usize, 10);
        }
        assert_eq!(c.size(), MAX_CHUNK);
    }
}
