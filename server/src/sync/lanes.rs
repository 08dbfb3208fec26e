//! When a sync request may decode and merge (同步分道): heavy work cannot crowd out honest
//! syncs or take the server's memory. Every request weighs what it will make the server hold
//! before Automerge builds anything (its body on the wire, then its pushes weighed from their
//! chunks' headers, then the stored documents it merges into), and runs in one of two lanes:
//!
//! - the **light lane**: one request per core at once, with at most cores + 2 between decoding
//!   and their commit. An officer's edits, a phone's periodic sync and a catch-up run here;
//!   heavy work never takes its slots.
//! - the **heavy lane**: one request at a time in the whole server, on whatever is left of the
//!   CPU. A request whose body is larger than [`LIGHT_BODY`] starts here; one that turns out
//!   heavier than [`LIGHT_WORK`] once weighed leaves its light slot and waits here before
//!   anything is built.
//!
//! And one request per user at once from decoding to the end of its merge, so one account
//! with several sessions cannot hold several slots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shared::model::UserId;
use shared::sync::server::Weight;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::limit::{MergeSlot, MergeSlots};

/// A body larger than this on the wire runs in the heavy lane from the start (decoded, it may
/// be 64 times as large).
pub const LIGHT_BODY: usize = 64 * 1024;

/// A request whose work weighs more than this (see [`work`]) runs in the heavy lane.
pub const LIGHT_WORK: usize = 4 * 1024 * 1024;

/// Bytes Automerge holds per operation it builds (a 2 MiB push of 700,000 characters moved
/// the server's memory by ~120 MB).
const BYTES_PER_OP: usize = 160;

/// How many times its stored bytes a document takes once Automerge built it (a stored text
/// operation is ~3 bytes).
const STORED_GROWTH: usize = 50;

/// What merging a request will make the server hold, in bytes: its pushes' bytes and the
/// operations they build, and the stored documents they merge into, once built.
pub fn work(pushed: Weight, stored_bytes: usize) -> usize {
    let ops = usize::try_from(pushed.ops).unwrap_or(usize::MAX);
    pushed
        .bytes
        .saturating_add(ops.saturating_mul(BYTES_PER_OP))
        .saturating_add(stored_bytes.saturating_mul(STORED_GROWTH))
}

/// The lanes of a server.
#[derive(Debug)]
pub struct Lanes {
    light: MergeSlots,
    /// Light requests between decoding and their commit.
    light_requests: MergeSlots,
    heavy: Arc<Semaphore>,
    users: Mutex<HashMap<UserId, Arc<Semaphore>>>,
}

/// A request's place: its user's turn and its lane's slot. Moves with the work to its
/// blocking thread; [`Admission::merged`] frees the slots once merged.
#[derive(Debug)]
pub struct Admission {
    user: Option<OwnedSemaphorePermit>,
    light: Option<(MergeSlot, MergeSlot)>,
    heavy: Option<OwnedSemaphorePermit>,
    lanes: Arc<Lanes>,
}

impl Lanes {
    /// Lanes with `light` light slots (at least one).
    pub fn new(light: usize) -> Arc<Lanes> {
        let light = MergeSlots::new(light);
        Arc::new(Lanes {
            light_requests: MergeSlots::new(light.slots() + 2),
            light,
            heavy: Arc::new(Semaphore::new(1)),
            users: Mutex::new(HashMap::new()),
        })
    }

    /// One light slot per core.
    pub fn per_core() -> Arc<Lanes> {
        Lanes::new(MergeSlots::per_core().slots())
    }

    /// How many light requests merge at once.
    pub fn light_slots(&self) -> usize {
        self.light.slots()
    }

    /// Waits for `user`'s turn, then for a slot in the lane a body of `body_len` bytes starts
    /// in.
    pub async fn admit(self: &Arc<Self>, user: UserId, body_len: usize) -> Admission {
        let turn = self.user_turn(user);
        let user = turn.acquire_owned().await.ok();
        let mut admission = Admission {
            user,
            light: None,
            heavy: None,
            lanes: self.clone(),
        };
        if body_len > LIGHT_BODY {
            admission.heavy = self.heavy.clone().acquire_owned().await.ok();
        } else {
            let turn = self.light_requests.enter().await;
            admission.light = Some((turn, self.light.enter().await));
        }
        admission
    }

    fn user_turn(&self, user: UserId) -> Arc<Semaphore> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        // Users nobody waits for any more are forgotten (the map stays as small as the
        // number of users syncing now).
        if users.len() > 64 {
            users.retain(|_, s| Arc::strong_count(s) > 1);
        }
        users
            .entry(user)
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    }

    /// Prometheus gauges of the lanes.
    pub fn render(&self) -> String {
        let heavy = 1 - self.heavy.available_permits().min(1);
        format!(
            "{}# HELP lianxin_sync_heavy_running Heavy sync requests merging now (at most 1).\n\
             # TYPE lianxin_sync_heavy_running gauge\nlianxin_sync_heavy_running {heavy}\n",
            self.light.render()
        )
    }
}

impl Admission {
    /// Called from the request's blocking thread once it knows more of its `work`
    /// ([`work`]): a light request heavier than [`LIGHT_WORK`] frees its light slot and waits
    /// for the heavy lane before anything of it is built.
    pub fn weighs(&mut self, work: usize) {
        if work <= LIGHT_WORK || self.heavy.is_some() {
            return;
        }
        self.light = None;
        let heavy = self.lanes.heavy.clone();
        self.heavy = tokio::runtime::Handle::current()
            .block_on(heavy.acquire_owned())
            .ok();
    }

    /// Whether the request runs in the heavy lane.
    pub fn is_heavy(&self) -> bool {
        self.heavy.is_some()
    }

    /// The merge is done: the lane's slot and the user's turn go to the next request. The
    /// light lane's count of requests before their commit is kept until dropped.
    pub fn merged(&mut self) -> Option<MergeSlot> {
        self.user = None;
        self.heavy = None;
        self.light.take().map(|(turn, _slot)| turn)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn user(n: u8) -> UserId {
        UserId::from_random_bytes([n; 16])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_light_request_is_admitted_while_heavy_ones_hold_the_heavy_lane() {
        let lanes = Lanes::new(2);
        let heavy_running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut heavy = tokio::task::JoinSet::new();
        for n in 0..4 {
            let (lanes, running, most) = (lanes.clone(), heavy_running.clone(), most.clone());
            heavy.spawn(async move {
                let admission = lanes.admit(user(n), LIGHT_BODY + 1).await;
                tokio::task::spawn_blocking(move || {
                    let _admission = admission;
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(100));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let admitted = tokio::time::timeout(Duration::from_millis(50), lanes.admit(user(9), 100))
            .await
            .expect("a light request waits for no heavy one");
        assert!(!admitted.is_heavy());
        drop(admitted);
        while let Some(done) = heavy.join_next().await {
            assert!(matches!(done, Ok(Ok(()))), "{done:?}");
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "one heavy request at a time"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_light_request_found_heavy_leaves_its_light_slot_before_waiting() {
        let lanes = Lanes::new(1);
        let heavy = lanes.admit(user(1), LIGHT_BODY + 1).await;
        let mut found = lanes.admit(user(2), 100).await;
        let waiting = tokio::task::spawn_blocking(move || {
            found.weighs(LIGHT_WORK + 1);
            found.is_heavy()
        });
        // The only light slot is free again while it waits for the heavy lane.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let light = tokio::time::timeout(Duration::from_millis(200), lanes.admit(user(3), 100))
            .await
            .expect("the light slot was handed on");
        drop(light);
        assert!(
            !waiting.is_finished(),
            "it waits while another heavy request runs"
        );
        drop(heavy);
        assert!(waiting.await.expect("the thread ran"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_user_merges_one_request_at_a_time() {
        let lanes = Lanes::new(2);
        let mut first = lanes.admit(user(1), 100).await;
        let second = tokio::time::timeout(Duration::from_millis(100), lanes.admit(user(1), 100));
        assert!(
            second.await.is_err(),
            "the same user's second request waits"
        );
        let other = tokio::time::timeout(Duration::from_millis(100), lanes.admit(user(2), 100));
        assert!(other.await.is_ok(), "another user's does not");
        drop(first.merged());
        let second = tokio::time::timeout(Duration::from_millis(100), lanes.admit(user(1), 100));
        assert!(second.await.is_ok(), "its turn comes once the first merged");
    }
}
