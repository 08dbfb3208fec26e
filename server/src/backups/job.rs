//! The scheduled backups of a running server: the first one `every_hours` after the newest in
//! the directory (at once when there is none, or it is older), then one every `every_hours`.
//! Each runs on a blocking thread; one already running (a backup asked for over HTTP) is
//! waited out until the next turn. Failures are logged and tried again at the next turn.

use std::sync::Arc;
use std::time::Duration;

use super::{BackupError, Backups};
use crate::sync::SyncService;

/// Who the job is in the audit log.
pub const ACTOR: &str = "server";

/// Spawns the job when `[backup]` schedules backups; does nothing otherwise.
pub fn spawn(backups: Arc<Backups>, sync: Arc<SyncService>) {
    let Some(every) = backups.settings().every() else {
        return;
    };
    tokio::spawn(async move {
        let newest = backups
            .list()
            .ok()
            .and_then(|all| all.last().map(|b| b.taken_at));
        let now = crate::auth::now().0;
        let first = newest.map_or(Duration::ZERO, |taken| {
            let due = taken.saturating_add(i64::try_from(every.as_millis()).unwrap_or(i64::MAX));
            Duration::from_millis(u64::try_from(due.saturating_sub(now)).unwrap_or(0))
        });
        tracing::info!(
            every_s = every.as_secs(),
            first_in_s = first.as_secs(),
            "scheduled backups"
        );
        tokio::time::sleep(first).await;
        loop {
            match backups.run_recorded(&sync, ACTOR.into()).await {
                Ok(_) | Err(BackupError::Running) => {}
                Err(error) => tracing::error!(%error, "the scheduled backup failed"),
            }
            tokio::time::sleep(every).await;
        }
    });
}
