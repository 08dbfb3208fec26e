//! An enterprise's timeline (企业档案) from the query tables: its profile, its problems and every
//! visit, workflow event, progress entry, supervision note and rating in time order, as far as
//! the caller's read [`Scope`] reaches.

use shared::doc::DocKind;
use shared::model::EnterpriseId;
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::{SqliteStore, StoreError};
use crate::api::{EnterpriseProfile, Timeline, TimelineEntry, TimelineProblem};

impl SqliteStore {
    /// The timeline of `enterprise` as far as `scope` reaches, or `None` when the caller may
    /// read nothing of it (the same answer as for an enterprise that does not exist).
    pub fn enterprise_timeline(
        &self,
        enterprise: EnterpriseId,
        scope: &Scope,
    ) -> Result<Option<Timeline>, StoreError> {
        let key = enterprise.to_string();
        let profile_allowed = scope.allows(&DocId::new(DocKind::Enterprise, &key), &enterprise);
        let profile = if profile_allowed {
            self.conn
                .prepare_cached(
                    "SELECT id, credit_code, name, address, town, industry, size, key_enterprise \
                     FROM enterprises WHERE id = ?1",
                )?
                .query_map([&key], |r| {
                    Ok(EnterpriseProfile {
                        id: r.get(0)?,
                        credit_code: r.get(1)?,
                        name: r.get(2)?,
                        address: r.get(3)?,
                        town: r.get(4)?,
                        industry: r.get(5)?,
                        size: r.get(6)?,
                        key_enterprise: r.get::<_, i64>(7)? != 0,
                    })
                })?
                .next()
                .transpose()?
        } else {
            None
        };
        let mut entries = Vec::new();
        for v in self.visit_rows_for(enterprise)? {
            if !scope.allows(&DocId::new(DocKind::Visit, &v.id), &enterprise) {
                continue;
            }
            entries.push(TimelineEntry {
                at: v.device_time,
                kind: "visit".into(),
                record: v.id.clone(),
                problem: None,
                by: v.created_by.clone(),
                action: v.method.clone(),
                text: v.notes.clone(),
                applied: None,
            });
        }
        let mut problems = Vec::new();
        let found: Vec<TimelineProblem> = self
            .conn
            .prepare_cached(
                "SELECT id, state, category, deadline, created_at, description, created_by \
                 FROM problems WHERE enterprise = ?1 ORDER BY created_at, id",
            )?
            .query_map([&key], |r| {
                Ok((
                    TimelineProblem {
                        id: r.get(0)?,
                        state: r.get(1)?,
                        category: r.get(2)?,
                        deadline: r.get(3)?,
                        created_at: r.get(4)?,
                        description: r.get(5)?,
                    },
                    r.get::<_, String>(6)?,
                ))
            })?
            .filter_map(|row| match row {
                Ok((p, by)) => {
                    if scope.allows(&DocId::new(DocKind::Problem, &p.id), &enterprise) {
                        Some(Ok((p, by)))
                    } else {
                        None
                    }
                }
                Err(e) => Some(Err(e)),
            })
            .map(|row| {
                row.map(|(p, by)| {
                    entries.push(TimelineEntry {
                        at: p.created_at,
                        kind: "problem_created".into(),
                        record: p.id.clone(),
                        problem: Some(p.id.clone()),
                        by,
                        action: p.category.clone(),
                        text: p.description.clone(),
                        applied: None,
                    });
                    p
                })
            })
            .collect::<Result<_, _>>()?;
        let mut events = self.conn.prepare_cached(
            "SELECT id, action, \"by\", at, reason, applied FROM problem_events WHERE problem = ?1",
        )?;
        let mut progress = self
            .conn
            .prepare_cached("SELECT id, kind, text, \"by\", at FROM progress WHERE problem = ?1")?;
        let mut ratings = self
            .conn
            .prepare_cached("SELECT level, comment, \"by\", at FROM ratings WHERE problem = ?1")?;
        for p in found {
            let pid = Some(p.id.clone());
            for e in events.query_map([&p.id], |r| {
                Ok(TimelineEntry {
                    record: r.get(0)?,
                    action: r.get(1)?,
                    by: r.get(2)?,
                    at: r.get(3)?,
                    text: r.get(4)?,
                    applied: Some(r.get::<_, i64>(5)? != 0),
                    kind: "event".into(),
                    problem: pid.clone(),
                })
            })? {
                entries.push(e?);
            }
            for e in progress.query_map([&p.id], |r| {
                Ok(TimelineEntry {
                    record: r.get(0)?,
                    kind: r.get(1)?,
                    text: r.get(2)?,
                    by: r.get(3)?,
                    at: r.get(4)?,
                    action: String::new(),
                    applied: None,
                    problem: pid.clone(),
                })
            })? {
                entries.push(e?);
            }
            for e in ratings.query_map([&p.id], |r| {
                Ok(TimelineEntry {
                    action: r.get::<_, i64>(0)?.to_string(),
                    text: r.get(1)?,
                    by: r.get(2)?,
                    at: r.get(3)?,
                    record: p.id.clone(),
                    kind: "rating".into(),
                    applied: None,
                    problem: pid.clone(),
                })
            })? {
                entries.push(e?);
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
