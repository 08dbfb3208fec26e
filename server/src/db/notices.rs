//! Push notices (issue 16 item 4): the source of the "changes wait in the feed" notices that
//! open event streams (`sync::events`) and the background jobs that follow commits
//! (`sync::next_burst`) receive. One server on SQLite tells its own subscribers after each
//! commit ([`LocalNotices`]); several servers on one PostgreSQL tell one another through the
//! database (`pg::notices`: `NOTIFY` in each commit's transaction, a `LISTEN` connection per
//! server), so a device connected to any server hears of a commit made on any other.
//!
//! **Invariant:** a notice is sent only for a commit that landed, and a subscriber that may
//! have missed notices (PostgreSQL's listener lost its connection) gets [`Notice::Missed`]
//! once it hears again, so no device waits for a notice that never comes.

use tokio::sync::broadcast;

/// Notices a slow subscriber may fall behind by before it skips to the newest (it then syncs
/// once for them all, as a notice only says "look").
const BACKLOG: usize = 64;

/// What a subscriber hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Changes up to this sequence number of the feed are committed.
    Feed(u64),
    /// Notices may have been missed (the source lost touch with the database and is back):
    /// every device syncs, every follower of commits looks.
    Missed,
}

/// Where the server's notices come from.
pub trait Notices: Send + Sync + std::fmt::Debug {
    /// Tells that the feed reached `seq`: called after a commit of this server landed (a sync
    /// request's, or a document the server wrote itself). In-process: sent to this server's
    /// subscribers now. PostgreSQL: nothing more to do, the commit's transaction notified every
    /// server, this one included.
    fn announce(&self, seq: u64);

    /// A receiver of the notices of every server, from now on.
    fn subscribe(&self) -> broadcast::Receiver<Notice>;
}

/// The notices of one server process: what it commits, it tells its own subscribers. SQLite's
/// (the file's lock means one server).
#[derive(Debug)]
pub struct LocalNotices {
    sender: broadcast::Sender<Notice>,
}

impl Default for LocalNotices {
    fn default() -> Self {
        LocalNotices {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl LocalNotices {
    /// Sends `notice` to this server's subscribers (a source that hears notices from elsewhere
    /// relays them so).
    pub fn send(&self, notice: Notice) {
        // No receiver means nobody listens now: nothing to tell.
        let _ = self.sender.send(notice);
    }
}

impl Notices for LocalNotices {
    fn announce(&self, seq: u64) {
        self.send(Notice::Feed(seq));
    }

    fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.sender.subscribe()
    }
}
