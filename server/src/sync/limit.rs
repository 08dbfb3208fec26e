//! How many sync requests are decoded and merged at once: one per core. Each holds its decoded
//! request (up to 64 MiB) and the Automerge documents it loads; running more at once finishes
//! none sooner and only adds memory, so a burst of reconnecting phones waits its turn instead.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The merge slots of a server; clones share them.
#[derive(Debug, Clone)]
pub struct MergeSlots {
    permits: Arc<Semaphore>,
    slots: usize,
}

/// A request's turn to merge; the slot frees when it is dropped. It moves to the blocking
/// thread doing the work, so a caller that stops waiting does not free it early.
#[derive(Debug)]
pub struct MergeSlot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl MergeSlots {
    /// `slots` requests at once (at least one).
    pub fn new(slots: usize) -> MergeSlots {
        let slots = slots.max(1);
        MergeSlots {
            permits: Arc::new(Semaphore::new(slots)),
            slots,
        }
    }

    /// One slot per core.
    pub fn per_core() -> MergeSlots {
        MergeSlots::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// How many slots there are.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Waits for a free slot, in arrival order; never fails.
    pub async fn enter(&self) -> MergeSlot {
        // The semaphore is never closed, so acquiring only waits.
        MergeSlot {
            _permit: self.permits.clone().acquire_owned().await.ok(),
        }
    }

    /// Prometheus gauges: the slots and how many are taken.
    pub fn render(&self) -> String {
        let taken = self.slots.saturating_sub(self.permits.available_permits());
        format!(
            "# HELP lianxin_sync_merge_slots Sync requests merged at once at most.\n\
             # TYPE lianxin_sync_merge_slots gauge\nlianxin_sync_merge_slots {}\n\
             # HELP lianxin_sync_merges_running Sync requests merging now.\n\
             # TYPE lianxin_sync_merges_running gauge\nlianxin_sync_merges_running {taken}\n",
            self.slots
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_sixteen_requests_merges_two_at_a_time_and_every_one_gets_its_turn() {
        let slots = MergeSlots::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
            requests.spawn(async move {
                let slot = slots.enter().await;
                tokio::task::spawn_blocking(move || {
                    let _slot = slot;
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            });
        }
        let mut served = 0;
        while let Some(done) = requests.join_next().await {
            assert!(matches!(done, Ok(Ok(()))), "{done:?}");
            served += 1;
        }
        assert_eq!(served, 16);
        assert_eq!(most.load(Ordering::SeqCst), 2, "never more than the slots");
        assert!(slots.render().contains("lianxin_sync_merges_running 0\n"));
    }
}
