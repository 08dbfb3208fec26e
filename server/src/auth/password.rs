//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes), as PHC
//! strings with a random salt each, and the limit on how many run at once on the server (a
//! bounded queue in front of one hashing thread per core).

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use tokio::sync::oneshot;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

use super::Secret;
use crate::store::PasswordHash;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password failed: {0}")]
pub struct HashError(String);

/// Hashes a password with a fresh random salt. What a new password must be is
/// [`super::policy`]'s, checked before.
///
/// # Errors
/// When argon2 fails.
pub fn hash(password: &Secret) -> Result<PasswordHash, HashError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| PasswordHash(h.to_string()))
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `hash`. A malformed stored hash matches nothing.
pub fn verify(password: &Secret, hash: &PasswordHash) -> bool {
    let Ok(parsed) = Phc::new(&hash.0) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
}

/// Spends the same work as a real check, for logins whose account does not exist, so timing
/// does not tell which logins exist.
pub fn verify_dummy(password: &Secret) {
    static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
    if let Some(h) = DUMMY.get_or_init(|| hash(&Secret::new("dummy-password-for-timing")).ok()) {
        let _ = verify(password, h);
    }
}

/// How many password hashes the server runs at once: one per core. Each argon2 run takes a
/// core and a fresh 19 MiB buffer; running more at once finishes none sooner and only adds
/// memory. 50 simultaneous logins took the server to ~0.9 GB RSS, and limiting their number
/// alone did not help: on tokio's blocking threads each run's buffer lands in another thread's
/// malloc arena, which keeps it. So the hashes run on this many dedicated threads.
pub fn hash_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

type Job = Box<dyn FnOnce() + Send>;

/// How many jobs may wait per hashing thread before new ones are turned away: a flood of
/// logins then costs a quick "busy" answer each instead of an ever longer queue.
const QUEUED_PER_SLOT: usize = 128;

/// Why a job given to the hashing threads did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashQueueError {
    /// Every hashing thread is busy and the queue is full: try again shortly.
    #[error("the password hashing queue is full")]
    Busy,
    /// The job panicked, or no hashing thread could start.
    #[error("the password hash failed")]
    Failed,
}

/// Hashing threads taking jobs from one bounded queue in arrival order.
struct HashQueue {
    jobs: mpsc::SyncSender<Job>,
}

impl HashQueue {
    /// Starts `threads` hashing threads behind a queue of `capacity` waiting jobs.
    fn start(threads: usize, capacity: usize) -> HashQueue {
        let (queue, jobs) = mpsc::sync_channel::<Job>(capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads {
            let jobs = jobs.clone();
            let started = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    loop {
                        let job = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        let Ok(job) = job else { return };
                        // A panicking job answers nothing (its caller sees `Failed`); the
                        // thread stays to serve the next.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            if let Err(error) = started {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        HashQueue { jobs: queue }
    }

    /// Queues `work` without waiting; its answer comes on the receiver. A job whose receiver
    /// was dropped (its caller stopped waiting) is skipped when its turn comes.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, HashQueueError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            if answer.is_closed() {
                return;
            }
            let _ = answer.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(answered),
            Err(mpsc::TrySendError::Full(_)) => Err(HashQueueError::Busy),
            Err(mpsc::TrySendError::Disconnected(_)) => Err(HashQueueError::Failed),
        }
    }
}

/// The server's hashing threads, started on first use.
fn hashers() -> &'static HashQueue {
    static QUEUE: OnceLock<HashQueue> = OnceLock::new();
    QUEUE.get_or_init(|| HashQueue::start(hash_slots(), hash_slots() * QUEUED_PER_SLOT))
}

/// Runs `work` (a password hash or verification) on one of the [`hash_slots`] hashing
/// threads. Callers beyond them queue in arrival order, up to [`QUEUED_PER_SLOT`] per thread;
/// beyond that they are answered [`HashQueueError::Busy`] at once. A caller that stops waiting
/// takes its job out of the work: it is skipped when its turn comes.
///
/// # Errors
/// [`HashQueueError::Busy`] when the queue is full; [`HashQueueError::Failed`] if `work`
/// panicked or no hashing thread could start.
pub async fn limited<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashQueueError> {
    hashers()
        .submit(work)?
        .await
        .map_err(|_| HashQueueError::Failed)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn verifications_beyond_the_cores_queue_for_a_hashing_thread_and_all_succeed() {
        let stored = hash(&Secret::new("lianxin-demo")).expect("hashes");
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..hash_slots() * 3 + 1)
            .map(|_| {
                let (stored, running, peak) = (stored.clone(), running.clone(), peak.clone());
                tokio::spawn(limited(move || {
                    let thread = std::thread::current();
                    assert!(
                        thread
                            .name()
                            .is_some_and(|n| n.starts_with("password-hash"))
                    );
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let ok = verify(&Secret::new("lianxin-demo"), &stored);
                    running.fetch_sub(1, Ordering::SeqCst);
                    ok
                }))
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.expect("joined"), Ok(true));
        }
        assert_eq!(
            limited(|| panic!("a bad hash")).await,
            Err::<(), _>(HashQueueError::Failed)
        );
        assert_eq!(
            limited(move || verify(&Secret::new("wrong password"), &stored)).await,
            Ok(false),
            "a panic leaves the hashing threads serving"
        );
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (1..=hash_slots()).contains(&peak),
            "{peak} hashes ran at once on {} slots",
            hash_slots()
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once_and_a_job_whose_caller_left_is_skipped() {
        let queue = HashQueue::start(1, 1);
        let (started, has_started) = mpsc::channel();
        let (open_gate, gate) = mpsc::channel::<()>();
        let first = queue
            .submit(move || {
                let _ = started.send(());
                let _ = gate.recv();
                1
            })
            .expect("the thread takes the first job");
        has_started.recv().expect("the first job runs");
        let ran = Arc::new(AtomicUsize::new(0));
        let ran_by_left = ran.clone();
        let left = queue
            .submit(move || ran_by_left.fetch_add(1, Ordering::SeqCst))
            .expect("one job may wait");
        assert_eq!(
            queue.submit(|| 3).err(),
            Some(HashQueueError::Busy),
            "a second waiting job does not fit"
        );
        drop(left);
        open_gate.send(()).expect("gate");
        assert_eq!(first.await, Ok(1));
        // The thread takes the skipped job off the queue just after answering the first, so
        // the room comes back a moment after `first` resolves: wait for it, boundedly.
        let mut last = queue.submit(|| 4);
        for _ in 0..200 {
            if !matches!(last, Err(HashQueueError::Busy)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            last = queue.submit(|| 4);
        }
        let last = last.expect("room again once the skipped job left the queue");
        assert_eq!(last.await, Ok(4));
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "the job whose caller left never ran"
        );
    }
}
