//! The visit document: one per visit (走访), the 连心卡 an officer fills in at the enterprise.

use automerge::ROOT;

use super::fields::{Reader, Writer};
use super::{ActorId, DocError, DocKind, RecordDoc, read_stamp, write_header, write_stamp};
use crate::model::{
    Actor, CheckIn, EnterpriseId, OperatingStatus, Position, PositionFix, ProblemId, Signature,
    Timestamp, UserId, Visit, VisitConfirmation, VisitId, VisitMethod,
};

/// What is needed to create a visit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisit {
    /// Identity, made on the device.
    pub id: VisitId,
    /// The enterprise visited.
    pub enterprise: EnterpriseId,
    /// How.
    pub method: VisitMethod,
    /// Check-in evidence, for on-site visits.
    pub check_in: Option<CheckIn>,
    /// Operating status seen.
    pub operating_status: OperatingStatus,
    /// Notes.
    pub notes: String,
}

/// A visit's Automerge document.
#[derive(Debug, Clone)]
pub struct VisitDoc {
    inner: RecordDoc,
}

/// Typed edits of a visit, all inside one change.
pub struct VisitEdit<'a, 'w> {
    w: &'a mut Writer<'w>,
}

fn write_check_in(w: &mut Writer<'_>, c: &CheckIn) -> Result<(), DocError> {
    let obj = w.map(&ROOT, "check_in")?;
    w.put(&obj, "device_time", c.device_time.0)?;
    match &c.position {
        PositionFix::Fixed(p) => {
            w.put(&obj, "outcome", "fixed")?;
            w.put(&obj, "lat", p.lat)?;
            w.put(&obj, "lon", p.lon)?;
            w.put(&obj, "accuracy_m", p.accuracy_m)?;
        }
        PositionFix::PermissionRefused => w.put(&obj, "outcome", "permission_refused")?,
        PositionFix::Unavailable(reason) => {
            w.put(&obj, "outcome", "unavailable")?;
            w.put(&obj, "reason", reason.as_str())?;
        }
    }
    match &c.photo_hash {
        Some(h) => w.put(&obj, "photo_hash", h.as_str()),
        None => w.delete(&obj, "photo_hash"),
    }
}

impl VisitEdit<'_, '_> {
    /// Sets how the visit was made.
    pub fn set_method(&mut self, method: VisitMethod) -> Result<(), DocError> {
        self.w.put(&ROOT, "method", method.code())
    }
    /// Records check-in evidence.
    pub fn set_check_in(&mut self, check_in: &CheckIn) -> Result<(), DocError> {
        write_check_in(self.w, check_in)
    }
    /// Adds an officer to the visit.
    pub fn add_officer(&mut self, officer: UserId) -> Result<(), DocError> {
        self.w.set_add(&ROOT, "officers", &officer.to_string())
    }
    /// Adds a person met.
    pub fn add_attendee(&mut self, name: &str) -> Result<(), DocError> {
        self.w.set_add(&ROOT, "attendees", name.trim())
    }
    /// Removes a person met.
    pub fn remove_attendee(&mut self, name: &str) -> Result<(), DocError> {
        self.w.set_remove(&ROOT, "attendees", name.trim())
    }
    /// Rewrites the notes (merged as text).
    pub fn set_notes(&mut self, notes: &str) -> Result<(), DocError> {
        self.w.text(&ROOT, "notes", notes)
    }
    /// Sets the operating status seen.
    pub fn set_operating_status(&mut self, status: OperatingStatus) -> Result<(), DocError> {
        self.w.put(&ROOT, "operating_status", status.code())
    }
    /// Links a problem raised on this visit.
    pub fn add_problem(&mut self, problem: ProblemId) -> Result<(), DocError> {
        self.w.set_add(&ROOT, "problems", &problem.to_string())
    }
    /// Adds a photo taken on site (现场照片); the same photo again rewrites its entry.
    pub fn add_photo(&mut self, photo: &crate::model::Photo) -> Result<(), DocError> {
        super::photos::add(self.w, photo)
    }
    /// Records the enterprise's confirmation of the visit.
    pub fn confirm(&mut self, by_name: &str, at: Timestamp) -> Result<(), DocError> {
        let obj = self.w.map(&ROOT, "confirmation")?;
        self.w.put(&obj, "by_name", by_name)?;
        self.w.put(&obj, "at", at.0)
    }
    /// Records the enterprise's confirmation of the visit by `by_name`'s signature, drawn on
    /// the officer's screen (the PNG kept by hash, like a photo).
    pub fn sign(
        &mut self,
        by_name: &str,
        at: Timestamp,
        signature: &Signature,
    ) -> Result<(), DocError> {
        self.confirm(by_name.trim(), at)?;
        let obj = self.w.map(&ROOT, "confirmation")?;
        super::signature::write(self.w, &obj, signature)
    }
}

impl VisitDoc {
    /// Creates a visit by `actor`, who is its first officer.
    pub fn create(
        new: &NewVisit,
        actor: &Actor,
        actor_id: ActorId,
        now: Timestamp,
    ) -> Result<VisitDoc, DocError> {
        let mut inner = RecordDoc::new(DocKind::Visit, actor_id);
        inner.edit(actor, now, |w| {
            write_header(w, DocKind::Visit, &new.id.to_string())?;
            w.put(&ROOT, "enterprise", new.enterprise.to_string())?;
            w.put(&ROOT, "method", new.method.code())?;
            if let Some(c) = &new.check_in {
                write_check_in(w, c)?;
            }
            w.put(&ROOT, "operating_status", new.operating_status.code())?;
            w.text(&ROOT, "notes", &new.notes)?;
            for set in ["officers", "attendees", "problems"] {
                w.map(&ROOT, set)?;
            }
            w.set_add(&ROOT, "officers", &actor.user.to_string())?;
            write_stamp(w, &ROOT, "created_", &actor.stamp(now))
        })?;
        Ok(VisitDoc { inner })
    }

    /// Applies typed edits as one change by `actor` at `now`.
    pub fn edit<F>(&mut self, actor: &Actor, now: Timestamp, f: F) -> Result<(), DocError>
    where
        F: FnOnce(&mut VisitEdit<'_, '_>) -> Result<(), DocError>,
    {
        self.inner.edit(actor, now, |w| f(&mut VisitEdit { w }))?;
        Ok(())
    }

    /// Reads the document into a [`Visit`], checking every field.
    pub fn read(&self) -> Result<Visit, DocError> {
        read_record(&self.inner)
    }
}

/// Reads a record document of this kind in place, like [`VisitDoc::read`] without the wrapper
/// (the server validates pushed documents this way, without copying them).
pub(crate) fn read_record(inner: &RecordDoc) -> Result<Visit, DocError> {
    inner.expect_kind(DocKind::Visit)?;
    let mut r = inner.reader();
    let v = read_visit(&mut r)?;
    Ok(Visit {
        needs_decision: r.needs_decision,
        ..v
    })
}

fn read_check_in(r: &mut Reader<'_>) -> Result<Option<CheckIn>, DocError> {
    let Some(obj) = r.obj(&ROOT, "check_in")? else {
        return Ok(None);
    };
    let device_time = Timestamp(r.i64(&obj, "device_time", "check_in.device_time")?);
    let position = match r.str(&obj, "outcome", "check_in.outcome")?.as_str() {
        "fixed" => {
            let lat = r.f64(&obj, "lat", "check_in.lat")?;
            let lon = r.f64(&obj, "lon", "check_in.lon")?;
            let acc = r.f64(&obj, "accuracy_m", "check_in.accuracy_m")?;
            PositionFix::Fixed(
                Position::new(lat, lon, acc).map_err(|e| DocError::BadValue {
                    field: "check_in".into(),
                    error: e.to_string(),
                })?,
            )
        }
        "permission_refused" => PositionFix::PermissionRefused,
        "unavailable" => PositionFix::Unavailable(
            r.opt_str(&obj, "reason", "check_in.reason")?
                .unwrap_or_default(),
        ),
        other => {
            return Err(DocError::BadValue {
                field: "check_in.outcome".into(),
                error: format!("unknown {other:?}"),
            });
        }
    };
    let photo_hash = r.opt_str(&obj, "photo_hash", "check_in.photo_hash")?;
    Ok(Some(CheckIn {
        device_time,
        position,
        photo_hash,
    }))
}

fn read_visit(r: &mut Reader<'_>) -> Result<Visit, DocError> {
    let officers = r.parsed_set(&ROOT, "officers", UserId::parse)?;
    let problems = r.parsed_set(&ROOT, "problems", ProblemId::parse)?;
    let confirmation = match r.obj(&ROOT, "confirmation")? {
        Some(obj) => Some(VisitConfirmation {
            by_name: r.str(&obj, "by_name", "confirmation.by_name")?,
            at: Timestamp(r.i64(&obj, "at", "confirmation.at")?),
            signature: super::signature::read(r, &obj, "confirmation")?,
        }),
        None => None,
    };
    Ok(Visit {
        id: r.parse(&ROOT, "id", "id", VisitId::parse)?,
        enterprise: r.parse(&ROOT, "enterprise", "enterprise", EnterpriseId::parse)?,
        officers,
        method: r.parse(&ROOT, "method", "method", VisitMethod::from_code)?,
        check_in: read_check_in(r)?,
        attendees: r.string_set(&ROOT, "attendees")?,
        notes: r.text(&ROOT, "notes")?,
        operating_status: r.parse(
            &ROOT,
            "operating_status",
            "operating_status",
            OperatingStatus::from_code,
        )?,
        problems,
        confirmation,
        photos: super::photos::read(r)?,
        created: read_stamp(r, &ROOT, "created_")?,
        needs_decision: Vec::new(),
    })
}

super::typed_doc!(VisitDoc, DocKind::Visit, "visit");
