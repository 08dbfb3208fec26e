//! The district configurations the server has published, by version
//! (`published_config::PublishedConfig`): what a device declaring an older version is judged
//! by besides the current one (`live_config`). Rows are only added.

use rusqlite::{OptionalExtension as _, params};
use shared::model::Timestamp;

use super::{SqliteStore, StoreError};

impl SqliteStore {
    /// Keeps the configuration of `version` (its canonical JSON), first published at `at`;
    /// one already kept stays as it is. Returns whether it was new.
    pub fn remember_config(
        &mut self,
        version: &str,
        json: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let added = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO published_configs (version, json, published_at) \
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![version, json, at.0])?;
        Ok(added == 1)
    }

    /// The canonical JSON of the configuration published as `version`, if it ever was.
    pub fn published_config_json(&self, version: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT json FROM published_configs WHERE version = ?1")?
            .query_row([version], |r| r.get(0))
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_configuration_is_kept_once_by_its_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("c.db")).expect("opens");
        let version = "0123456789abcdef0123456789abcdef";
        assert_eq!(store.published_config_json(version).expect("reads"), None);
        assert!(
            store
                .remember_config(version, "{\"a\":1}", Timestamp(1))
                .expect("kept")
        );
        assert!(
            !store
                .remember_config(version, "{\"a\":2}", Timestamp(2))
                .expect("kept")
        );
        assert_eq!(
            store
                .published_config_json(version)
                .expect("reads")
                .as_deref(),
            Some("{\"a\":1}")
        );
    }
}
