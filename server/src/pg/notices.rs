//! Push notices across servers on one PostgreSQL ([`crate::db::Notices`]): each commit of the
//! sync store sends `NOTIFY` on [`CHANNEL`] inside its own transaction (`pg/sync_store.rs`),
//! so PostgreSQL delivers it only if the commit lands, in commit order; each server keeps one
//! connection of its own (outside the pool, named [`APPLICATION`]) that `LISTEN`s and relays
//! every notice to its subscribers.
//!
//! **A lost connection loses notices**, and nothing tells which: when the listener's connection
//! fails (the database restarted, the backend was terminated, the network dropped it; TCP
//! keepalives find a silent drop within about a minute) it connects again, backing off from
//! [`FIRST_PAUSE`] to [`LAST_PAUSE`], and once it listens again it sends
//! [`Notice::Missed`]: every device syncs, every follower of commits looks.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};

use super::PgDb;
use crate::db::{LocalNotices, Notice, Notices};

/// The channel commits notify and listeners listen on.
pub(super) const CHANNEL: &str = "lianxin_feed";

/// The listener connection's `application_name` (what `pg_stat_activity` shows).
pub const APPLICATION: &str = "lianxin-notices";

/// The pause before the first reconnect; doubled after each failure.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The longest pause between reconnects.
const LAST_PAUSE: Duration = Duration::from_secs(5);

/// One server's notices on PostgreSQL: the listener task and its subscribers. The task stops
/// when this is dropped.
#[derive(Debug)]
pub struct PgNotices {
    relay: Arc<LocalNotices>,
    listener: JoinHandle<()>,
    /// The listener's backend process id (0 while it is not connected).
    backend: Arc<AtomicI32>,
}

impl Drop for PgNotices {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgNotices {
    /// The process id of the backend the listener is connected to now, if it is (what
    /// `pg_terminate_backend` takes).
    pub fn backend_pid(&self) -> Option<i32> {
        Some(self.backend.load(Ordering::SeqCst)).filter(|pid| *pid != 0)
    }
}

impl Notices for PgNotices {
    /// Nothing: the commit's transaction notified every server, this one included.
    fn announce(&self, _seq: u64) {}

    fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.relay.subscribe()
    }
}

impl PgDb {
    /// Starts this server's listener on the current tokio runtime: its notices are every
    /// server's commits.
    pub fn notices(&self) -> PgNotices {
        let relay = Arc::new(LocalNotices::default());
        let backend = Arc::new(AtomicI32::new(0));
        let mut config = (*self.config).clone();
        config
            .application_name(APPLICATION)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3)
            .connect_timeout(super::WAIT);
        let listener = tokio::spawn(listen(config, relay.clone(), backend.clone()));
        PgNotices {
            relay,
            listener,
            backend,
        }
    }
}

/// Listens for as long as the server runs, connecting again after each failure; after every
/// connection but a first one that worked at once, tells the subscribers they may have missed
/// notices.
async fn listen(config: tokio_postgres::Config, relay: Arc<LocalNotices>, backend: Arc<AtomicI32>) {
    let mut pause = FIRST_PAUSE;
    let mut missed = false;
    loop {
        let ended = listen_once(&config, &relay, &backend, missed, &mut pause).await;
        backend.store(0, Ordering::SeqCst);
        tracing::warn!(error = %ended, pause_ms = pause.as_millis(), "push notices: the listener lost its connection; connecting again");
        missed = true;
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LAST_PAUSE);
    }
}

/// One connection's life: connects, listens, then relays notices until the connection fails;
/// why it ended. Once listening, sends [`Notice::Missed`] if `missed`, and resets `pause`.
async fn listen_once(
    config: &tokio_postgres::Config,
    relay: &LocalNotices,
    backend: &AtomicI32,
    missed: bool,
    pause: &mut Duration,
) -> String {
    let (client, mut connection) = match config.connect(NoTls).await {
        Ok(pair) => pair,
        Err(e) => return e.to_string(),
    };
    // The connection's messages (notices among them) are read here, not by a task of its own,
    // which would drop them.
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let listening = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        let row = client.query_one("SELECT pg_backend_pid()", &[]).await?;
        Ok::<i32, tokio_postgres::Error>(row.get(0))
    };
    tokio::pin!(listening);
    let pid = loop {
        tokio::select! {
            listened = &mut listening => match listened {
                Ok(pid) => break pid,
                Err(e) => return e.to_string(),
            },
            message = messages.next() => match message {
                // Nothing is listened to yet: a notice cannot come; a server's note is ignored.
                Some(Ok(_)) => {}
                Some(Err(e)) => return e.to_string(),
                None => return "the connection closed".into(),
            },
        }
    };
    backend.store(pid, Ordering::SeqCst);
    *pause = FIRST_PAUSE;
    tracing::info!(backend = pid, "push notices: listening");
    if missed {
        relay.send(Notice::Missed);
    }
    loop {
        match messages.next().await {
            Some(Ok(AsyncMessage::Notification(n))) => match n.payload().parse::<u64>() {
                Ok(seq) => relay.send(Notice::Feed(seq)),
                // Not a number: no commit of ours sends it, but "look" is never wrong.
                Err(_) => relay.send(Notice::Missed),
            },
            Some(Ok(_)) => {}
            Some(Err(e)) => return e.to_string(),
            None => return "the connection closed".into(),
        }
    }
}
