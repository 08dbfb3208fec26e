//! An enterprise's timeline (企业档案) from the query tables: its profile, its problems and every
//! visit, workflow event, progress entry, supervision note and rating in time order, as far as
//! the caller's read [`Scope`] reaches. Written once over [`Sql`] and run on both backends
//! (SQLite's [`SqliteStore::enterprise_timeline`], PostgreSQL's `Queries`).

use shared::doc::DocKind;
use shared::model::EnterpriseId;
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::sql::{Lite, Sql, Value};
use super::{SqliteStore, StoreError};
use crate::api::{EnterpriseProfile, Timeline, TimelineEntry, TimelineProblem};

impl SqliteStore {
    /// The timeline of `enterprise` as far as `scope` reaches, or `None` when the caller may
    /// read nothing of it ([`enterprise_timeline`]).
    pub fn enterprise_timeline(
        &self,
        enterprise: EnterpriseId,
        scope: &Scope,
    ) -> Result<Option<Timeline>, StoreError> {
        enterprise_timeline(&Lite(&self.conn), enterprise, scope)
    }
}

/// The timeline of `enterprise` as far as `scope` reaches, or `None` when the caller may read
/// nothing of it (the same answer as for an enterprise that does not exist); its problems by
/// creation, its entries by time, then kind, record and problem: the one definition, run on
/// either backend.
pub(crate) fn enterprise_timeline(
    db: &dyn Sql,
    enterprise: EnterpriseId,
    scope: &Scope,
) -> Result<Option<Timeline>, StoreError> {
    let d = db.dialect();
    let key = Value::Text(enterprise.to_string());
    let allows = |kind: DocKind, id: &str| scope.allows(&DocId::new(kind, id), &enterprise);
    let profile = if allows(DocKind::Enterprise, &enterprise.to_string()) {
        db.query_opt(
            "SELECT id, credit_code, name, address, town, industry, size, key_enterprise \
             FROM enterprises WHERE id = ?",
            std::slice::from_ref(&key),
        )?
        .map(|r| {
            Ok::<_, StoreError>(EnterpriseProfile {
                id: r.text(0)?,
                credit_code: r.text(1)?,
                name: r.text(2)?,
                address: r.text(3)?,
                town: r.text(4)?,
                industry: r.text(5)?,
                size: r.text(6)?,
                key_enterprise: r.flag(7)?,
            })
        })
        .transpose()?
    } else {
        None
    };
    let mut entries = Vec::new();
    let visits = db.query(
        &format!(
            "SELECT id, device_time, created_by, method, notes FROM visits WHERE enterprise = ? \
             ORDER BY device_time, {}",
            d.bytewise("id")
        ),
        std::slice::from_ref(&key),
    )?;
    for v in visits {
        let id = v.text(0)?;
        if !allows(DocKind::Visit, &id) {
            continue;
        }
        entries.push(TimelineEntry {
            at: v.int(1)?,
            kind: "visit".into(),
            record: id,
            problem: None,
            by: v.text(2)?,
            action: v.text(3)?,
            text: v.note(4)?,
            applied: None,
        });
    }
    let mut problems = Vec::new();
    let found = db.query(
        &format!(
            "SELECT id, state, category, deadline, created_at, description, created_by \
             FROM problems WHERE enterprise = ? ORDER BY created_at, {}",
            d.bytewise("id")
        ),
        std::slice::from_ref(&key),
    )?;
    for r in found {
        let p = TimelineProblem {
            id: r.text(0)?,
            state: r.text(1)?,
            category: r.text(2)?,
            deadline: r.int(3)?,
            created_at: r.int(4)?,
            description: r.text(5)?,
        };
        if !allows(DocKind::Problem, &p.id) {
            continue;
        }
        let pid = Some(p.id.clone());
        let problem = [Value::Text(p.id.clone())];
        entries.push(TimelineEntry {
            at: p.created_at,
            kind: "problem_created".into(),
            record: p.id.clone(),
            problem: pid.clone(),
            by: r.text(6)?,
            action: p.category.clone(),
            text: p.description.clone(),
            applied: None,
        });
        for e in db.query(
            "SELECT id, action, \"by\", at, reason, applied FROM problem_events WHERE problem = ?",
            &problem,
        )? {
            entries.push(TimelineEntry {
                record: e.text(0)?,
                action: e.text(1)?,
                by: e.text(2)?,
                at: e.int(3)?,
                text: e.text(4)?,
                applied: Some(e.flag(5)?),
                kind: "event".into(),
                problem: pid.clone(),
            });
        }
        for e in db.query(
            "SELECT id, kind, text, \"by\", at FROM progress WHERE problem = ?",
            &problem,
        )? {
            entries.push(TimelineEntry {
                record: e.text(0)?,
                kind: e.text(1)?,
                text: e.text(2)?,
                by: e.text(3)?,
                at: e.int(4)?,
                action: String::new(),
                applied: None,
                problem: pid.clone(),
            });
        }
        for e in db.query(
            "SELECT level, comment, \"by\", at FROM ratings WHERE problem = ?",
            &problem,
        )? {
            entries.push(TimelineEntry {
                action: e.int(0)?.to_string(),
                text: e.text(1)?,
                by: e.text(2)?,
                at: e.int(3)?,
                record: p.id.clone(),
                kind: "rating".into(),
                applied: None,
                problem: pid.clone(),
            });
        }
        problems.push(p);
    }
    if profile.is_none() && entries.is_empty() {
        return Ok(None);
    }
    entries.sort_by(|a, b| {
        (a.at, &a.kind, &a.record, &a.problem).cmp(&(b.at, &b.kind, &b.record, &b.problem))
    });
    Ok(Some(Timeline {
        profile,
        problems,
        entries,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::model::{EnterpriseId, Problem, Timestamp};
    use shared::sync::validate::Scope;

    use crate::store::test_support::{demo_problems, demo_store};

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    #[test]
    fn a_timeline_is_in_time_order_and_respects_the_scope() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let (problems, _) = demo_problems(&district, NOW);
        // The enterprise with the most problems.
        let mut count: BTreeMap<EnterpriseId, usize> = BTreeMap::new();
        for (p, _) in &problems {
            *count.entry(p.enterprise).or_default() += 1;
        }
        let (&enterprise, _) = count.iter().max_by_key(|(_, n)| **n).expect("problems");
        let t = store
            .enterprise_timeline(enterprise, &Scope::All)
            .expect("reads")
            .expect("visible");
        assert!(t.profile.is_some());
        let mine: Vec<&Problem> = problems
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.enterprise == enterprise)
            .collect();
        assert_eq!(t.problems.len(), mine.len());
        let events: usize = mine.iter().map(|p| p.events.len()).sum();
        let logs: usize = mine
            .iter()
            .map(|p| p.progress.len() + p.supervision.len() + usize::from(p.rating.is_some()))
            .sum();
        let visits = t.entries.iter().filter(|e| e.kind == "visit").count();
        assert!(visits > 0);
        assert_eq!(t.entries.len(), visits + mine.len() + events + logs);
        assert!(t.entries.windows(2).all(|w| w[0].at <= w[1].at));

        // Outside the scope it is exactly as missing as an unknown enterprise.
        let outside = store
            .enterprise_timeline(enterprise, &Scope::none())
            .expect("reads");
        assert!(outside.is_none());
        let unknown = EnterpriseId::from_random_bytes([7; 16]);
        assert!(
            store
                .enterprise_timeline(unknown, &Scope::All)
                .expect("reads")
                .is_none()
        );
    }
}
