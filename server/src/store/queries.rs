//! Small read queries for server-side jobs (monitoring rules): documents of a kind, key
//! enterprises without a monitoring document, the officer currently assigned to an
//! enterprise; and for the sync rules on both backends ([`push_facts`]), a device's previous
//! sync and the check-in visits and sign-offs a look-back is judged by.

use std::collections::BTreeMap;

use shared::config::ClockRules;
use shared::doc::{DocKind, MONITORING_ID_PREFIX};
use shared::model::{DeviceId, EnterpriseId, EntryId, ProblemId, Timestamp, UserId};
use shared::sync::protocol::DocId;

use super::sql::{Lite, Sql, values};
use super::{SqliteStore, StoreError};

impl SqliteStore {
    /// Every stored document of `kind`.
    pub fn doc_ids_of_kind(&self, kind: DocKind) -> Result<Vec<DocId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc_id FROM docs WHERE kind = ?1 ORDER BY doc_id")?;
        let ids = stmt
            .query_map([kind.code()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.into_iter()
            .map(|s| {
                DocId::parse(&s).map_err(|e| StoreError::Corrupt {
                    table: "docs",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// Key enterprises (重点企业) with no monitoring document yet, in id order. One primary-key
    /// lookup per key enterprise (its document's id is fixed by the enterprise), so the
    /// commit follower can ask often at province scale.
    pub fn key_enterprises_without_monitoring(&self) -> Result<Vec<EnterpriseId>, StoreError> {
        // The document id is `<prefix><enterprise id>`.
        let prefix = DocId::new(DocKind::Monitoring, MONITORING_ID_PREFIX).to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id FROM enterprises e WHERE e.key_enterprise <> 0 AND NOT EXISTS \
             (SELECT 1 FROM docs d WHERE d.doc_id = ?1 || e.id) ORDER BY e.id",
        )?;
        let ids = stmt
            .query_map([prefix.as_str()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|s| {
                EnterpriseId::parse(s).map_err(|e| StoreError::Corrupt {
                    table: "enterprises",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// How many problems in the query tables came from `source`.
    pub fn problem_count_from(
        &self,
        source: shared::model::ProblemSource,
    ) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM problems WHERE source = ?1",
            [source.code()],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// The officer assigned (包联) to an enterprise at `now`, the longest-standing first.
    pub fn assigned_officer(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        super::cards::assigned_officer(&Lite(&self.conn), enterprise, now)
    }

    /// See [`look_back_facts`].
    pub fn look_back_facts(&self, problems: &[&str]) -> Result<LookBackFacts, StoreError> {
        look_back_facts(&Lite(&self.conn), problems)
    }

    /// See [`push_facts`].
    pub fn push_facts(
        &self,
        device: DeviceId,
        now: Timestamp,
        clock: &ClockRules,
        problems: &[&str],
    ) -> Result<PushFacts, StoreError> {
        push_facts(&Lite(&self.conn), device, now, clock, problems)
    }
}

/// What the server holds that the server-time rules judge a device's push by
/// (`crate::auth::RoleRules`), on either backend: the lower bound of the times the device may
/// claim (`projection::previous_sync`) and the look-back facts of the pushed problems.
#[derive(Debug, Clone, Default)]
pub struct PushFacts {
    /// The device's previous sync as the settling window counts it.
    pub previous: Option<Timestamp>,
    /// What a look-back pass in one of the pushed problems is judged by.
    pub look_back: LookBackFacts,
}

/// [`PushFacts`] for a push of `problems` (their ids, among others) by `device` at `now`.
///
/// # Errors
/// The database failed, or holds an id that does not parse.
pub(crate) fn push_facts(
    conn: &dyn Sql,
    device: DeviceId,
    now: Timestamp,
    clock: &ClockRules,
    problems: &[&str],
) -> Result<PushFacts, StoreError> {
    Ok(PushFacts {
        previous: super::projection::previous_sync(conn, device, now, clock)?,
        look_back: look_back_facts(conn, problems)?,
    })
}

/// What the server holds that a look-back pass (回头看) in one of the problems `problems`
/// (their ids) is judged by (`crate::auth::RoleRules`): the check-in visits to their
/// enterprises and their sign-offs, each at the time the KPIs count it. A visit's check-in is
/// made as it is recorded, so its counted creation time stands for the check-in.
///
/// # Errors
/// The database failed, or holds an id that does not parse.
pub(crate) fn look_back_facts(
    conn: &dyn Sql,
    problems: &[&str],
) -> Result<LookBackFacts, StoreError> {
    let corrupt = |table: &'static str| {
        move |e: shared::model::IdError| StoreError::Corrupt {
            table,
            detail: e.to_string(),
        }
    };
    let mut facts = LookBackFacts::default();
    let mut enterprises = std::collections::BTreeSet::new();
    // Only sign-offs: a look-back falls due from the sign-off it follows.
    let sign_off = shared::workflow::Action::SignOff { waiver: false }.code();
    for problem in problems {
        let Some(row) = conn.query_opt(
            "SELECT enterprise FROM problems WHERE id = ?1",
            &values![problem.to_string()],
        )?
        else {
            continue;
        };
        enterprises.insert(row.text(0)?);
        let pid = ProblemId::parse(problem).map_err(corrupt("problems"))?;
        let rows = conn.query(
            "SELECT id, at FROM problem_events WHERE problem = ?1 AND action = ?2",
            &values![problem.to_string(), sign_off.to_string()],
        )?;
        for row in rows {
            let id = EntryId::parse(&row.text(0)?).map_err(corrupt("problem_events"))?;
            facts.event_times.insert((pid, id), Timestamp(row.int(1)?));
        }
    }
    for e in enterprises {
        let rows = conn.query(
            "SELECT device_time FROM visits WHERE enterprise = ?1 \
             AND check_in_outcome IS NOT NULL",
            &values![e.clone()],
        )?;
        let times = rows
            .iter()
            .map(|r| r.int(0).map(Timestamp))
            .collect::<Result<Vec<_>, _>>()?;
        let id = EnterpriseId::parse(&e).map_err(corrupt("problems"))?;
        facts.check_ins.insert(id, times);
    }
    Ok(facts)
}

/// See [`look_back_facts`].
#[derive(Debug, Clone, Default)]
pub struct LookBackFacts {
    /// Counted times of the check-in visits, per enterprise.
    pub check_ins: BTreeMap<EnterpriseId, Vec<Timestamp>>,
    /// Counted times of the stored sign-offs, per problem and event.
    pub event_times: BTreeMap<(ProblemId, EntryId), Timestamp>,
}
