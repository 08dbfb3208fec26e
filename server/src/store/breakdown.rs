//! The breakdowns the dashboard's charts draw: the period's problems (as `Kpis::problems`
//! counts them) by category, tier, town, department and month, each with its resolved and
//! overdue counts, under the same rules as the KPIs. Written once over [`Sql`] and run on both
//! backends (SQLite's [`SqliteStore::breakdown`], PostgreSQL's `Queries`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use shared::config::Config;
use shared::model::{OrgUnitKind, Tier, Timestamp};

use super::kpi::problems_of;
use super::problems_query::AWAITING;
use super::sql::{Lite, Sql, Value};
use super::{SqliteStore, StoreError};
use crate::api::{Breakdown, BreakdownQuery, BreakdownRow, Unit};

/// Periods longer than this many months list only the months that have problems.
const MAX_LISTED_MONTHS: usize = 120;

/// The month (`YYYY`, `MM`) an instant falls in, `offset_ms` east of UTC.
fn month_of(t: i64, offset_ms: i64) -> Option<(i32, u32)> {
    let d = Timestamp(t.saturating_add(offset_ms)).day()?;
    Some((d.year(), d.month()))
}

/// The first instant of a month, `offset_ms` east of UTC.
fn month_start(year: i32, month: u32, offset_ms: i64) -> Option<i64> {
    let day = NaiveDate::from_ymd_opt(year, month, 1)?;
    let utc = day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(utc - offset_ms)
}

fn next_month((year, month): (i32, u32)) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

impl SqliteStore {
    /// The problems of `q.unit` created in `[q.from, q.to)` grouped by `q.by`, each group with
    /// its resolved and overdue (at `now`) counts ([`breakdown`]).
    pub fn breakdown(
        &self,
        q: BreakdownQuery,
        now: Timestamp,
        config: &Config,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        breakdown(&Lite(&self.conn), q, now, config)
    }
}

/// The problems of `q.unit` created in `[q.from, q.to)` (as `Kpis::problems` counts them)
/// grouped by `q.by`, each group with its resolved and overdue (at `now`) counts. Every known
/// key is listed, even with no problems — the config's categories and tiers, the zone's
/// towns, the departments (by code), each month of the period — in display order, then any
/// other key found in the data (in byte order): the one definition, run on either backend.
pub(crate) fn breakdown(
    db: &dyn Sql,
    q: BreakdownQuery,
    now: Timestamp,
    config: &Config,
) -> Result<Vec<BreakdownRow>, StoreError> {
    let d = db.dialect();
    let offset_ms = i64::from(q.utc_offset_minutes) * 60_000;
    let (unit_sql, unit_param) = problems_of(q.unit);
    let month = d.month_of("p.created_at");
    let (key_sql, join, key_params): (&str, &str, Vec<Value>) = match q.by {
        Breakdown::Category => ("p.category", "", vec![]),
        Breakdown::Tier => ("p.tier", "", vec![]),
        Breakdown::Town => (
            "coalesce(e.town, '')",
            "LEFT JOIN enterprises e ON e.id = p.enterprise",
            vec![],
        ),
        Breakdown::Department => (
            "pu.unit",
            "JOIN problem_units pu ON pu.problem = p.id",
            vec![],
        ),
        Breakdown::Month => (month.as_str(), "", vec![Value::Integer(offset_ms)]),
    };
    let sql = format!(
        "SELECT {key_sql}, COUNT(*), \
         SUM(CASE WHEN p.state IN ('signed_off', 'look_back_passed') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN p.state IN ({AWAITING}) AND p.deadline < ? THEN 1 ELSE 0 END) \
         FROM problems p {join} WHERE {unit_sql} AND p.created_at >= ? AND p.created_at < ? \
         AND p.state NOT IN ('withdrawn', 'merged_duplicate') GROUP BY 1"
    );
    let mut params = key_params;
    params.push(Value::Integer(now.0));
    params.extend(unit_param.map(Value::Text));
    params.push(Value::Integer(q.from.0));
    params.push(Value::Integer(q.to.0));
    // Keyed in a BTreeMap: the keys found in the data come out in byte order on both backends.
    let mut counts: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for r in db.query(&sql, &params)? {
        counts.insert(
            r.opt_text(0)?.unwrap_or_default(),
            (r.count(1)?, r.count(2)?, r.count(3)?),
        );
    }

    // The keys to list, in display order, with their names.
    let mut listed: Vec<(String, String, String)> = Vec::new();
    let mut unit_names: BTreeMap<String, String> = BTreeMap::new();
    match q.by {
        Breakdown::Category => {
            for c in &config.categories {
                listed.push((c.code.clone(), c.zh.clone(), c.en.clone()));
            }
        }
        Breakdown::Tier => {
            for t in Tier::ALL {
                let name = config.tiers.of(*t);
                listed.push((t.code().into(), name.zh.clone(), name.en.clone()));
            }
        }
        Breakdown::Town | Breakdown::Department => {
            let kind = if q.by == Breakdown::Town {
                OrgUnitKind::Town
            } else {
                OrgUnitKind::Department
            };
            let units = db.query(
                &format!(
                    "SELECT id, name, kind FROM org_units ORDER BY {}",
                    d.bytewise("code")
                ),
                &[],
            )?;
            for r in units {
                let (id, name) = (r.text(0)?, r.text(1)?);
                let list_it = r.text(2)? == kind.code()
                    && match q.unit {
                        Unit::Zone => true,
                        Unit::Town(t) => kind == OrgUnitKind::Department || id == t.to_string(),
                        Unit::Department(dep) => id == dep.to_string(),
                    };
                if list_it {
                    listed.push((id.clone(), name.clone(), name.clone()));
                }
                unit_names.insert(id, name);
            }
        }
        Breakdown::Month => {
            let first = month_of(q.from.0, offset_ms);
            let last = month_of(q.to.0.saturating_sub(1), offset_ms);
            if let (Some(mut m), Some(last)) = (first, last) {
                while m <= last && listed.len() < MAX_LISTED_MONTHS {
                    listed.push((
                        format!("{:04}-{:02}", m.0, m.1),
                        String::new(),
                        String::new(),
                    ));
                    m = next_month(m);
                }
                if m <= last {
                    // Too long to list every month: only those with problems.
                    listed.clear();
                }
            }
        }
    }
    let known: BTreeSet<String> = listed.iter().map(|(k, _, _)| k.clone()).collect();
    for key in counts.keys().filter(|k| !known.contains(*k)) {
        let (zh, en) = match (q.by, unit_names.get(key)) {
            (_, Some(name)) => (name.clone(), name.clone()),
            (Breakdown::Town, None) if key.is_empty() => {
                ("未知镇街".to_string(), "Unknown town".to_string())
            }
            _ => (key.clone(), key.clone()),
        };
        listed.push((key.clone(), zh, en));
    }

    let mut out = Vec::with_capacity(listed.len());
    for (key, mut label, mut label_en) in listed {
        let (mut from, mut to) = (q.from.0, q.to.0);
        if q.by == Breakdown::Month {
            let parsed = key
                .split_once('-')
                .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)));
            if let Some((year, month)) = parsed {
                if let Some(start) = month_start(year, month, offset_ms) {
                    from = from.max(start);
                }
                let (ny, nm) = next_month((year, month));
                if let Some(end) = month_start(ny, nm, offset_ms) {
                    to = to.min(end);
                }
                label = format!("{year}年{month}月");
                label_en = format!("{year}-{month:02}");
            }
        }
        let (problems, resolved, overdue) = counts.get(&key).copied().unwrap_or_default();
        out.push(BreakdownRow {
            key,
            label,
            label_en,
            problems,
            resolved,
            overdue,
            from,
            to,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::derive::awaiting_result;
    use shared::doc::{DocKind, EnterpriseDoc, ProblemDoc};
    use shared::model::{DAY_MS, EnterpriseId, ProblemState};
    use shared::server_time::server_outcome;

    use super::*;
    use crate::demo;
    use crate::store::test_support::demo_store;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);
    /// The period's problems as the KPIs count them, read straight from the documents:
    /// (category, effective tier, town, created, resolved, overdue at `NOW`).
    fn period_problems(
        district: &demo::DemoDistrict,
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<(String, Tier, String, Timestamp, bool, bool)> {
        let mut towns: BTreeMap<EnterpriseId, String> = BTreeMap::new();
        for (id, doc) in &district.documents {
            if id.kind() == DocKind::Enterprise {
                let e = EnterpriseDoc::from_record(doc.clone())
                    .expect("enterprise")
                    .read()
                    .expect("reads");
                towns.insert(e.id, e.town.to_string());
            }
        }
        let mut out = Vec::new();
        for (id, doc) in &district.documents {
            if id.kind() != DocKind::Problem {
                continue;
            }
            let p = ProblemDoc::from_record(doc.clone())
                .expect("problem")
                .read()
                .expect("reads");
            let outcome = server_outcome(&Config::default().sla, &p, p.created.at);
            if p.created.at < from
                || p.created.at >= to
                || matches!(
                    outcome.state,
                    ProblemState::Withdrawn | ProblemState::MergedDuplicate
                )
            {
                continue;
            }
            out.push((
                p.category.clone(),
                outcome.tier,
                towns.get(&p.enterprise).cloned().unwrap_or_default(),
                p.created.at,
                outcome.state.is_resolved(),
                awaiting_result(outcome.state) && outcome.deadline < NOW,
            ));
        }
        out
    }

    /// (problems, resolved, overdue) per key.
    fn tally<'a>(
        rows: impl Iterator<Item = (String, bool, bool)> + 'a,
    ) -> BTreeMap<String, (u64, u64, u64)> {
        let mut out: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for (key, resolved, overdue) in rows {
            let e = out.entry(key).or_default();
            e.0 += 1;
            e.1 += u64::from(resolved);
            e.2 += u64::from(overdue);
        }
        out
    }

    fn counted(rows: &[BreakdownRow]) -> BTreeMap<String, (u64, u64, u64)> {
        rows.iter()
            .filter(|r| r.problems > 0)
            .map(|r| (r.key.clone(), (r.problems, r.resolved, r.overdue)))
            .collect()
    }

    #[test]
    fn demo_district_breakdown_by_category_and_tier_matches_the_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (from, to) = (Timestamp(NOW.0 - 90 * DAY_MS), NOW);
        let query = |by| BreakdownQuery {
            unit: Unit::Zone,
            by,
            from,
            to,
            utc_offset_minutes: 480,
        };
        let problems = period_problems(&district, from, to);

        let by_category = store
            .breakdown(query(Breakdown::Category), NOW, &config)
            .expect("breakdown");
        let expected = tally(problems.iter().map(|p| (p.0.clone(), p.4, p.5)));
        assert_eq!(counted(&by_category), expected);
        assert!(
            expected.len() > 3,
            "the demo spreads over categories: {expected:?}"
        );
        // Every configured category is listed, in the config's order, named from the config.
        let codes: Vec<&str> = by_category.iter().map(|r| r.key.as_str()).collect();
        let configured: Vec<&str> = config.categories.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, configured);
        assert_eq!(by_category[0].label, config.categories[0].zh);
        assert_eq!(by_category[0].label_en, config.categories[0].en);
        assert!(by_category.iter().all(|r| r.from == from.0 && r.to == to.0));
        // The bars add up to the KPI tiles.
        let kpis = store
            .kpis(Unit::Zone, from, to, NOW, &Default::default())
            .expect("kpis");
        let sum = |f: fn(&BreakdownRow) -> u64| by_category.iter().map(f).sum::<u64>();
        assert_eq!(sum(|r| r.problems), kpis.problems);
        assert_eq!(sum(|r| r.resolved), kpis.resolved);
        assert_eq!(sum(|r| r.overdue), kpis.overdue);

        let by_tier = store
            .breakdown(query(Breakdown::Tier), NOW, &config)
            .expect("breakdown");
        let expected = tally(problems.iter().map(|p| (p.1.code().to_string(), p.4, p.5)));
        assert_eq!(counted(&by_tier), expected);
        assert_eq!(by_tier.len(), Tier::ALL.len());
        assert_eq!(by_tier[0].label, config.tiers.on_site.zh);
    }

    #[test]
    fn demo_district_monthly_trend_matches_the_records_in_the_chinese_time_zone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (from, to) = (Timestamp(NOW.0 - 100 * DAY_MS), NOW);
        let months = store
            .breakdown(
                BreakdownQuery {
                    unit: Unit::Zone,
                    by: Breakdown::Month,
                    from,
                    to,
                    utc_offset_minutes: 480,
                },
                NOW,
                &config,
            )
            .expect("breakdown");
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("offset");
        let month_key = |t: Timestamp| {
            chrono::DateTime::from_timestamp_millis(t.0)
                .expect("valid")
                .with_timezone(&beijing)
                .format("%Y-%m")
                .to_string()
        };
        let expected = tally(
            period_problems(&district, from, to)
                .into_iter()
                .map(|p| (month_key(p.3), p.4, p.5)),
        );
        assert_eq!(counted(&months), expected);
        // Four calendar months, back to back, from the period's start to its end.
        assert_eq!(months.len(), 4, "{months:?}");
        assert_eq!(months[0].key, month_key(from));
        assert_eq!(months[0].from, from.0);
        assert_eq!(months[3].to, to.0);
        for pair in months.windows(2) {
            assert_eq!(pair[0].to, pair[1].from);
            assert_eq!(month_key(Timestamp(pair[1].from)), pair[1].key);
            assert_eq!(month_key(Timestamp(pair[1].from - 1)), pair[0].key);
        }
        assert!(months[1].label.ends_with('月'));
    }

    #[test]
    fn a_town_breakdown_lists_that_town_only_and_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (from, to) = (Timestamp(NOW.0 - 90 * DAY_MS), NOW);
        let town = district
            .org_units
            .iter()
            .find(|o| o.kind == OrgUnitKind::Town)
            .expect("a town");
        let query = |unit| BreakdownQuery {
            unit,
            by: Breakdown::Town,
            from,
            to,
            utc_offset_minutes: 480,
        };
        let zone = store
            .breakdown(query(Unit::Zone), NOW, &config)
            .expect("breakdown");
        let expected = tally(
            period_problems(&district, from, to)
                .into_iter()
                .map(|p| (p.2, p.4, p.5)),
        );
        assert_eq!(counted(&zone), expected);
        let towns = district
            .org_units
            .iter()
            .filter(|o| o.kind == OrgUnitKind::Town)
            .count();
        assert_eq!(zone.len(), towns);
        let one = store
            .breakdown(query(Unit::Town(town.id)), NOW, &config)
            .expect("breakdown");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].key, town.id.to_string());
        assert_eq!(one[0].label, town.name);
        assert_eq!(
            one[0].problems,
            store
                .kpis(Unit::Town(town.id), from, to, NOW, &Default::default())
                .expect("kpis")
                .problems
        );
    }
}
