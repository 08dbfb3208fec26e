//! Data freshness (数据新鲜度) per officer and device: when each last synced and was seen, its
//! clock skew, and how many changes each device last reported still waiting on it. Written
//! once over [`Sql`] and run on both backends (SQLite's [`SqliteStore::officer_freshness`]
//! and `record_unsent`, PostgreSQL's `Queries` and `PgSyncStore::record_unsent`).

use std::collections::BTreeSet;

use shared::model::{OrgUnitId, Role, Timestamp};

use super::sql::{Lite, Sql, Value};
use super::{SqliteStore, StoreError};
use crate::api::{DeviceFreshness, OfficerFreshness};

impl SqliteStore {
    /// Data freshness of every officer whose org unit is in `units` (`None`: every officer)
    /// ([`officer_freshness`]).
    pub fn officer_freshness(
        &self,
        units: Option<&BTreeSet<OrgUnitId>>,
    ) -> Result<Vec<OfficerFreshness>, StoreError> {
        officer_freshness(&Lite(&self.conn), units)
    }

    /// Records what `device` reported of its outbox in a sync request at `at`
    /// ([`record_unsent`]).
    pub fn record_unsent(
        &mut self,
        device: &str,
        unsent: Option<u32>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        record_unsent(&Lite(&self.conn), device, unsent, at)
    }
}

/// Data freshness of every enabled officer whose org unit is in `units` (`None`: every
/// officer), by name (then id, in byte order), each device most recently seen first: the one
/// definition, run on either backend.
pub(crate) fn officer_freshness(
    db: &dyn Sql,
    units: Option<&BTreeSet<OrgUnitId>>,
) -> Result<Vec<OfficerFreshness>, StoreError> {
    let d = db.dialect();
    let mut params = vec![Value::Text(Role::Officer.code().into())];
    let cond = match units {
        None => "1 = 1".to_string(),
        Some(set) => {
            params.push(Value::Text(
                serde_json::Value::from(set.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .to_string(),
            ));
            format!("u.org_unit IN ({})", d.json_texts())
        }
    };
    let sql = format!(
        "SELECT u.id, u.name, u.org_unit, d.id, d.last_seen, s.last_seen, s.last_device_time, \
         d.name, o.unsent \
         FROM users u LEFT JOIN devices d ON {owner} = u.id AND d.revoked_at IS NULL \
         LEFT JOIN device_sync s ON s.device = d.id \
         LEFT JOIN device_outbox o ON o.device = d.id \
         WHERE u.role = ? AND NOT u.disabled AND {cond} \
         ORDER BY {name}, {user}, d.last_seen DESC, {device}",
        owner = d.person("d"),
        name = d.bytewise("u.name"),
        user = d.bytewise("u.id"),
        device = d.bytewise("d.id"),
    );
    let mut out: Vec<OfficerFreshness> = Vec::new();
    for r in db.query(&sql, &params)? {
        let user = r.text(0)?;
        if out.last().is_none_or(|o| o.user != user) {
            out.push(OfficerFreshness {
                user: user.clone(),
                name: r.text(1)?,
                org_unit: r.text(2)?,
                devices: 0,
                last_sync: None,
                last_seen: None,
                clock_skew_ms: None,
                unsent: None,
                unsent_unknown: 0,
                device_detail: Vec::new(),
            });
        }
        let Some(o) = out.last_mut() else { continue };
        let Some(device) = r.opt_text(3)? else {
            continue;
        };
        o.devices += 1;
        let seen = r.opt_int(4)?;
        o.last_seen = o.last_seen.max(seen);
        let synced = r.opt_int(5)?;
        let device_time = r.opt_int(6)?;
        let skew = synced.zip(device_time).map(|(s, t)| s - t);
        if let (Some(s), Some(skew)) = (synced, skew)
            && o.last_sync.is_none_or(|l| s > l)
        {
            o.last_sync = Some(s);
            o.clock_skew_ms = Some(skew);
        }
        let unsent = r.opt_int(8)?.and_then(|n| u32::try_from(n).ok());
        match unsent {
            Some(n) => o.unsent = Some(o.unsent.unwrap_or(0) + u64::from(n)),
            None => o.unsent_unknown += 1,
        }
        o.device_detail.push(DeviceFreshness {
            device,
            name: r.opt_text(7)?.unwrap_or_default(),
            last_sync: synced,
            last_seen: seen,
            clock_skew_ms: skew,
            unsent,
        });
    }
    Ok(out)
}

/// Records what `device` reported of its outbox in a sync request at `at`
/// ([`OfficerFreshness::unsent`]; `None` from an app older than protocol version 2).
/// Writes only when the number differs from the one stored, so an idle device's periodic
/// sync costs no write: the one definition, run on either backend.
pub(crate) fn record_unsent(
    db: &dyn Sql,
    device: &str,
    unsent: Option<u32>,
    at: Timestamp,
) -> Result<(), StoreError> {
    let unsent = unsent.map(i64::from);
    let stored = db
        .query_opt(
            "SELECT unsent FROM device_outbox WHERE device = ?",
            &[Value::Text(device.into())],
        )?
        .map(|r| r.opt_int(0))
        .transpose()?;
    if stored == Some(unsent) {
        return Ok(());
    }
    db.execute(
        "INSERT INTO device_outbox (device, unsent, changed_at) VALUES (?, ?, ?) \
         ON CONFLICT (device) DO UPDATE SET unsent = excluded.unsent, \
         changed_at = excluded.changed_at",
        &[
            Value::Text(device.into()),
            unsent.map_or(Value::Null, Value::Integer),
            Value::Integer(at.0),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use shared::model::{Role, Timestamp};

    use crate::store::SqliteStore;
    use crate::store::test_support::demo_store;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    #[test]
    fn an_officers_changes_on_device_sum_what_each_device_last_reported() {
        // Setup: one officer of the demo district with three devices — two on the current
        // app, one on the app before sync protocol version 2.
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, district) = demo_store(dir.path(), NOW);
        let officer = district
            .users
            .iter()
            .find(|u| u.user.role == Role::Officer)
            .expect("an officer");
        let id = officer.user.id.to_string();
        for (n, device) in ["phone", "tablet", "old"].into_iter().enumerate() {
            store
                .conn
                .execute(
                    "INSERT INTO devices (id, user, name, actor_id, registered_at, last_seen) \
                     VALUES (?1, ?2, ?1, ?3, 0, ?4)",
                    rusqlite::params![device, id, format!("{n:032x}"), n as i64],
                )
                .expect("device");
        }
        let row = |store: &SqliteStore| {
            store
                .officer_freshness(None)
                .expect("reads")
                .into_iter()
                .find(|o| o.user == id)
                .expect("the officer's row")
        };
        assert_eq!(row(&store).unsent, None, "nothing reported yet: unknown");

        store
            .record_unsent("phone", Some(3), Timestamp(10))
            .expect("records");
        store
            .record_unsent("tablet", Some(4), Timestamp(11))
            .expect("records");
        store
            .record_unsent("old", None, Timestamp(12))
            .expect("records");
        let o = row(&store);
        assert_eq!((o.unsent, o.unsent_unknown), (Some(7), 1));
        let detail: Vec<(&str, Option<u32>)> = o
            .device_detail
            .iter()
            .map(|d| (d.device.as_str(), d.unsent))
            .collect();
        assert_eq!(
            detail,
            [("old", None), ("tablet", Some(4)), ("phone", Some(3))],
            "most recently seen first"
        );

        // The phone's full sync reports 0; reporting the same number again writes nothing.
        store
            .record_unsent("phone", Some(0), Timestamp(20))
            .expect("records");
        store
            .record_unsent("phone", Some(0), Timestamp(30))
            .expect("records");
        assert_eq!(row(&store).unsent, Some(4));
        let changed_at: i64 = store
            .conn
            .query_row(
                "SELECT changed_at FROM device_outbox WHERE device = 'phone'",
                [],
                |r| r.get(0),
            )
            .expect("a row");
        assert_eq!(changed_at, 20);
    }
}
