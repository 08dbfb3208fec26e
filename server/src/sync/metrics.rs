//! Prometheus counters of the sync endpoint, kept with atomics and rendered as text at
//! `/metrics`: requests, errors, bytes in and out, documents merged and refused, latency, group
//! commits and the requests they carried, requests merged in the heavy lane.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Counters of the sync endpoint.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    errors: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    docs_merged: AtomicU64,
    docs_refused: AtomicU64,
    latency_buckets: [AtomicU64; 10],
    latency_sum_us: AtomicU64,
    group_commits: AtomicU64,
    group_commit_requests: AtomicU64,
    heavy: AtomicU64,
}

impl Metrics {
    /// Counts request bytes.
    pub fn bytes_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
    }
    /// Counts response bytes.
    pub fn bytes_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
    }
    /// Counts an error response.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts documents merged and refused.
    pub fn record_docs(&self, merged: u64, refused: u64) {
        self.docs_merged.fetch_add(merged, Ordering::Relaxed);
        self.docs_refused.fetch_add(refused, Ordering::Relaxed);
    }
    /// Counts a group commit of `requests` requests.
    pub fn group_commit(&self, requests: usize) {
        self.group_commits.fetch_add(1, Ordering::Relaxed);
        self.group_commit_requests
            .fetch_add(requests as u64, Ordering::Relaxed);
    }
    /// Counts a request merged in the heavy lane.
    pub fn heavy(&self) {
        self.heavy.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a finished request and its latency.
    pub fn observe(&self, elapsed: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        counter(
            "lianxin_sync_requests_total",
            "Sync requests answered.",
            g(&self.requests),
        );
        counter(
            "lianxin_sync_errors_total",
            "Sync requests answered with an error status.",
            g(&self.errors),
        );
        counter(
            "lianxin_sync_bytes_in_total",
            "Sync request bytes received.",
            g(&self.bytes_in),
        );
        counter(
            "lianxin_sync_bytes_out_total",
            "Sync response bytes sent.",
            g(&self.bytes_out),
        );
        counter(
            "lianxin_sync_documents_merged_total",
            "Pushed documents accepted.",
            g(&self.docs_merged),
        );
        counter(
            "lianxin_sync_documents_refused_total",
            "Pushed documents refused.",
            g(&self.docs_refused),
        );
        counter(
            "lianxin_sync_group_commits_total",
            "Durable commits of sync requests' writes (each carries one or more requests).",
            g(&self.group_commits),
        );
        counter(
            "lianxin_sync_group_commit_requests_total",
            "Sync requests committed in group commits.",
            g(&self.group_commit_requests),
        );
        counter(
            "lianxin_sync_heavy_requests_total",
            "Sync requests merged in the heavy lane (one at a time).",
            g(&self.heavy),
        );
        out.push_str("# HELP lianxin_sync_latency_seconds Sync request latency.\n# TYPE lianxin_sync_latency_seconds histogram\n");
        for (i, bound) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "lianxin_sync_latency_seconds_bucket{{le=\"{bound}\"}} {}\n",
                g(&self.latency_buckets[i])
            ));
        }
        let total = g(&self.requests);
        out.push_str(&format!(
            "lianxin_sync_latency_seconds_bucket{{le=\"+Inf\"}} {total}\n"
        ));
        out.push_str(&format!(
            "lianxin_sync_latency_seconds_sum {}\n",
            g(&self.latency_sum_us) as f64 / 1e6
        ));
        out.push_str(&format!("lianxin_sync_latency_seconds_count {total}\n"));
        out
    }
}
