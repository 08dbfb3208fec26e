//! The servers a native device takes in turn, one per sync request, as a load balancer in
//! front of several nodes hands them out ([`crate::device::NativeDevice::switch_on_every_request`]).
//!
//! Like a balancer's passive health check, a node whose request failed on the network rests
//! for [`REST`] before it is handed out again (unless every node rests: then the one whose
//! rest ends first); [`Rotation::strict`] hands nodes out strictly in turn, as a balancer
//! without health checks does. Strictly, a dead node takes every other request: the engine
//! copes (a document the live node asked for again after a cut goes there with its data, see
//! `shared/src/sync/client.rs`; before that rule a phone sent 257 requests in 60 s and its one
//! document was never acknowledged), which `tests/tests/sync_faults.rs` checks.

use std::time::{Duration, Instant};

/// How long a node whose request failed on the network is passed over.
pub const REST: Duration = Duration::from_secs(1);

/// Nodes handed out in turn, each with the end of its rest.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    nodes: Vec<(String, Instant)>,
    next: usize,
    /// How long a node whose request failed is passed over.
    rest: Duration,
}

impl Rotation {
    /// The nodes at `base_urls`, none resting; a failed one rests for [`REST`].
    pub fn new(base_urls: &[String]) -> Rotation {
        let now = Instant::now();
        Rotation {
            nodes: base_urls
                .iter()
                .map(|u| (u.trim_end_matches('/').to_string(), now))
                .collect(),
            next: 0,
            rest: REST,
        }
    }

    /// The nodes at `base_urls` strictly in turn: a failed one is not passed over.
    pub fn strict(base_urls: &[String]) -> Rotation {
        Rotation {
            rest: Duration::ZERO,
            ..Rotation::new(base_urls)
        }
    }

    /// The next node not resting (or the one whose rest ends first), by its index and base
    /// URL; `None` when there are no nodes.
    pub fn pick(&mut self) -> Option<(usize, String)> {
        let n = self.nodes.len();
        let now = Instant::now();
        let picked = (0..n)
            .map(|k| (self.next + k) % n)
            .find(|&i| self.nodes[i].1 <= now)
            .or_else(|| (0..n).min_by_key(|&i| self.nodes[i].1))?;
        self.next = picked + 1;
        Some((picked, self.nodes[picked].0.clone()))
    }

    /// Node `index`'s request failed on the network: it rests.
    pub fn failed(&mut self, index: usize) {
        if let Some(node) = self.nodes.get_mut(index) {
            node.1 = Instant::now() + self.rest;
        }
    }
}
