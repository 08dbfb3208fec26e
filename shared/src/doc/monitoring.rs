//! The monitoring document: one per key enterprise, holding its daily power use, weekly prices
//! and monthly operation figures (电量日监测、价格周报告、运行月分析). Each figure sits under
//! its own period key, so figures entered on different devices merge, and two different
//! figures for the same period are surfaced as "needs decision".

use std::collections::BTreeMap;

use automerge::ROOT;

use super::fields::{Reader, Writer};
use super::{ActorId, DocError, DocKind, RecordDoc, write_header};
use crate::model::{Actor, EnterpriseId, IsoWeek, Monitoring, Month, OperationFigures, Timestamp};

/// A key enterprise's monitoring document.
#[derive(Debug, Clone)]
pub struct MonitoringDoc {
    inner: RecordDoc,
}

/// Typed edits of monitoring figures, all inside one change.
pub struct MonitoringEdit<'a, 'w> {
    w: &'a mut Writer<'w>,
}

fn finite(field: &str, v: f64) -> Result<f64, DocError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(DocError::BadValue {
            field: field.into(),
            error: format!("{v} is not a non-negative number"),
        })
    }
}

impl MonitoringEdit<'_, '_> {
    /// Records a day's power use in kWh.
    pub fn record_power(&mut self, day: chrono::NaiveDate, kwh: f64) -> Result<(), DocError> {
        let power = self.w.map(&ROOT, "power")?;
        self.w.put(&power, &day.to_string(), finite("power", kwh)?)
    }
    /// Records a week's price of a product.
    pub fn record_price(
        &mut self,
        week: IsoWeek,
        product: &str,
        price: f64,
    ) -> Result<(), DocError> {
        let prices = self.w.map(&ROOT, "prices")?;
        let w = self.w.map(&prices, &week.to_string())?;
        self.w.put(&w, product.trim(), finite("price", price)?)
    }
    /// Records a month's operation figures.
    pub fn record_operation(&mut self, month: Month, f: &OperationFigures) -> Result<(), DocError> {
        let op = self.w.map(&ROOT, "operation")?;
        let m = self.w.map(&op, &month.to_string())?;
        self.w
            .put(&m, "output_value", finite("output_value", f.output_value)?)?;
        self.w.put(&m, "revenue", finite("revenue", f.revenue)?)?;
        if f.employees < 0 {
            return Err(DocError::BadValue {
                field: "employees".into(),
                error: "negative".into(),
            });
        }
        self.w.put(&m, "employees", f.employees)
    }
}

/// What every monitoring document's id starts with, before its enterprise's id.
pub const MONITORING_ID_PREFIX: &str = "monitoring-";

/// The document id of an enterprise's monitoring document: one per enterprise.
pub fn monitoring_id(enterprise: EnterpriseId) -> String {
    format!("{MONITORING_ID_PREFIX}{enterprise}")
}

impl MonitoringDoc {
    /// Creates the monitoring document of an enterprise.
    pub fn create(
        enterprise: EnterpriseId,
        actor: &Actor,
        actor_id: ActorId,
        now: Timestamp,
    ) -> Result<MonitoringDoc, DocError> {
        let mut inner = RecordDoc::new(DocKind::Monitoring, actor_id);
        inner.edit(actor, now, |w| {
            write_header(w, DocKind::Monitoring, &monitoring_id(enterprise))?;
            w.put(&ROOT, "enterprise", enterprise.to_string())?;
            for m in ["power", "prices", "operation"] {
                w.map(&ROOT, m)?;
            }
            Ok(())
        })?;
        Ok(MonitoringDoc { inner })
    }

    /// Applies typed edits as one change by `actor` at `now`.
    pub fn edit<F>(&mut self, actor: &Actor, now: Timestamp, f: F) -> Result<(), DocError>
    where
        F: FnOnce(&mut MonitoringEdit<'_, '_>) -> Result<(), DocError>,
    {
        self.inner
            .edit(actor, now, |w| f(&mut MonitoringEdit { w }))?;
        Ok(())
    }

    /// Reads the document into [`Monitoring`], checking every field.
    pub fn read(&self) -> Result<Monitoring, DocError> {
        read_record(&self.inner)
    }
}

/// Reads a record document of this kind in place, like [`MonitoringDoc::read`] without the wrapper
/// (the server validates pushed documents this way, without copying them).
pub(crate) fn read_record(inner: &RecordDoc) -> Result<Monitoring, DocError> {
    inner.expect_kind(DocKind::Monitoring)?;
    let mut r = inner.reader();
    let v = read_monitoring(&mut r)?;
    Ok(Monitoring {
        needs_decision: r.needs_decision,
        ..v
    })
}

fn bad(field: &str, key: &str) -> DocError {
    DocError::BadValue {
        field: field.into(),
        error: format!("{key:?} is not a period"),
    }
}

fn read_monitoring(r: &mut Reader<'_>) -> Result<Monitoring, DocError> {
    let mut power = BTreeMap::new();
    if let Some(obj) = r.obj(&ROOT, "power")? {
        let keys: Vec<String> = r.set(&ROOT, "power")?;
        for k in keys {
            // Not `k.parse()`: chrono's parser would add kilobytes to the app's download. Only
            // the canonical `YYYY-MM-DD` (what `record_power` writes) is a key: the lenient
            // forms CSV cells may take (`2026/1/2`, spaces) would let two keys hold one day,
            // one hiding the other.
            let day = crate::monitoring::csv_import::parse_day(&k)
                .ok()
                .filter(|d| d.to_string() == k)
                .ok_or_else(|| bad("power", &k))?;
            power.insert(day, r.f64(&obj, &k, &format!("power.{k}"))?);
        }
    }
    let mut prices = BTreeMap::new();
    for (k, obj) in r.entries(&ROOT, "prices")? {
        let week = IsoWeek::parse(&k).ok_or_else(|| bad("prices", &k))?;
        let products: Vec<String> = r.doc_keys(&obj);
        let mut row = BTreeMap::new();
        for p in products {
            row.insert(p.clone(), r.f64(&obj, &p, &format!("prices.{k}.{p}"))?);
        }
        prices.insert(week, row);
    }
    let mut operation = BTreeMap::new();
    for (k, obj) in r.entries(&ROOT, "operation")? {
        let month = Month::parse(&k).ok_or_else(|| bad("operation", &k))?;
        let label = |f: &str| format!("operation.{k}.{f}");
        operation.insert(
            month,
            OperationFigures {
                output_value: r.f64(&obj, "output_value", &label("output_value"))?,
                revenue: r.f64(&obj, "revenue", &label("revenue"))?,
                employees: r.i64(&obj, "employees", &label("employees"))?,
            },
        );
    }
    Ok(Monitoring {
        enterprise: r.parse(&ROOT, "enterprise", "enterprise", EnterpriseId::parse)?,
        power,
        prices,
        operation,
        needs_decision: Vec::new(),
    })
}

super::typed_doc!(MonitoringDoc, DocKind::Monitoring, "monitoring");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::officer;

    /// A monitoring document holding 2 January 2026 under the canonical key, plus `key`.
    fn with_power_key(key: &str) -> MonitoringDoc {
        let enterprise = EnterpriseId::from_random_bytes([7; 16]);
        let mut doc =
            MonitoringDoc::create(enterprise, &officer(), ActorId::from([3; 16]), Timestamp(1))
                .expect("created");
        doc.edit(&officer(), Timestamp(2), |w| {
            w.record_power(
                chrono::NaiveDate::from_ymd_opt(2026, 1, 2).expect("a day"),
                8_100.0,
            )
        })
        .expect("recorded");
        doc.inner
            .edit(&officer(), Timestamp(3), |w| {
                let power = w.map(&ROOT, "power")?;
                w.put(&power, key, 1.0)
            })
            .expect("written");
        doc
    }

    #[test]
    fn a_power_day_under_any_but_the_canonical_key_makes_the_document_unreadable() {
        for loose in ["2026/1/2", "2026/01/02", "2026-1-2", " 2026-01-02"] {
            let read = with_power_key(loose).read();
            assert!(
                matches!(&read, Err(DocError::BadValue { field, .. }) if field == "power"),
                "{loose:?}: {read:?}"
            );
        }
        let read = with_power_key("2026-01-03")
            .read()
            .expect("canonical keys read");
        assert_eq!(read.power.len(), 2);
    }
}
