//! The enterprise profile document: one per enterprise (企业档案).

use automerge::ROOT;

use super::fields::{Reader, Writer};
use super::{ActorId, DocError, DocKind, RecordDoc, write_header};
use crate::model::{
    Actor, Contact, CreditCode, Enterprise, EnterpriseId, EnterpriseSize, EntryId, OrgUnitId,
    Position, Timestamp,
};

/// What is needed to create an enterprise profile.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEnterprise {
    /// Identity.
    pub id: EnterpriseId,
    /// 统一社会信用代码.
    pub credit_code: CreditCode,
    /// Registered name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Town/street/park.
    pub town: OrgUnitId,
    /// Industry.
    pub industry: String,
    /// 规上/规下.
    pub size: EnterpriseSize,
    /// 重点企业.
    pub key_enterprise: bool,
    /// Where it is.
    pub position: Option<Position>,
}

/// An enterprise profile's Automerge document.
#[derive(Debug, Clone)]
pub struct EnterpriseDoc {
    inner: RecordDoc,
}

/// Typed edits of an enterprise profile, all inside one change.
pub struct EnterpriseEdit<'a, 'w> {
    w: &'a mut Writer<'w>,
}

fn write_position(w: &mut Writer<'_>, p: &Position) -> Result<(), DocError> {
    let obj = w.map(&ROOT, "position")?;
    w.put(&obj, "lat", p.lat)?;
    w.put(&obj, "lon", p.lon)?;
    w.put(&obj, "accuracy_m", p.accuracy_m)
}

impl EnterpriseEdit<'_, '_> {
    /// Sets the registered name.
    pub fn set_name(&mut self, name: &str) -> Result<(), DocError> {
        self.w.put(&ROOT, "name", name)
    }
    /// Sets the address.
    pub fn set_address(&mut self, address: &str) -> Result<(), DocError> {
        self.w.put(&ROOT, "address", address)
    }
    /// Moves it to another town.
    pub fn set_town(&mut self, town: OrgUnitId) -> Result<(), DocError> {
        self.w.put(&ROOT, "town", town.to_string())
    }
    /// Sets the industry.
    pub fn set_industry(&mut self, industry: &str) -> Result<(), DocError> {
        self.w.put(&ROOT, "industry", industry)
    }
    /// Sets 规上/规下.
    pub fn set_size(&mut self, size: EnterpriseSize) -> Result<(), DocError> {
        self.w.put(&ROOT, "size", size.code())
    }
    /// Marks or unmarks it as a key enterprise.
    pub fn set_key_enterprise(&mut self, key: bool) -> Result<(), DocError> {
        self.w.put(&ROOT, "key_enterprise", key)
    }
    /// Sets its position.
    pub fn set_position(&mut self, position: &Position) -> Result<(), DocError> {
        write_position(self.w, position)
    }
    /// Adds or replaces a contact.
    pub fn put_contact(&mut self, id: EntryId, contact: &Contact) -> Result<(), DocError> {
        let contacts = self.w.map(&ROOT, "contacts")?;
        let obj = self.w.map(&contacts, &id.to_string())?;
        self.w.put(&obj, "name", contact.name.as_str())?;
        self.w.put(&obj, "title", contact.title.as_str())?;
        self.w.put(&obj, "phone", contact.phone.as_str())
    }
    /// Removes a contact.
    pub fn remove_contact(&mut self, id: EntryId) -> Result<(), DocError> {
        let contacts = self.w.map(&ROOT, "contacts")?;
        self.w.delete(&contacts, &id.to_string())
    }
}

impl EnterpriseDoc {
    /// Creates an enterprise profile.
    pub fn create(
        new: &NewEnterprise,
        actor: &Actor,
        actor_id: ActorId,
        now: Timestamp,
    ) -> Result<EnterpriseDoc, DocError> {
        let mut inner = RecordDoc::new(DocKind::Enterprise, actor_id);
        inner.edit(actor, now, |w| {
            write_header(w, DocKind::Enterprise, &new.id.to_string())?;
            w.put(&ROOT, "credit_code", new.credit_code.as_str())?;
            w.put(&ROOT, "name", new.name.as_str())?;
            w.put(&ROOT, "address", new.address.as_str())?;
            w.put(&ROOT, "town", new.town.to_string())?;
            w.put(&ROOT, "industry", new.industry.as_str())?;
            w.put(&ROOT, "size", new.size.code())?;
            w.put(&ROOT, "key_enterprise", new.key_enterprise)?;
            if let Some(p) = &new.position {
                write_position(w, p)?;
            }
            w.map(&ROOT, "contacts")?;
            Ok(())
        })?;
        Ok(EnterpriseDoc { inner })
    }

    /// Applies typed edits as one change by `actor` at `now`.
    pub fn edit<F>(&mut self, actor: &Actor, now: Timestamp, f: F) -> Result<(), DocError>
    where
        F: FnOnce(&mut EnterpriseEdit<'_, '_>) -> Result<(), DocError>,
    {
        self.inner
            .edit(actor, now, |w| f(&mut EnterpriseEdit { w }))?;
        Ok(())
    }

    /// Reads the document into an [`Enterprise`], checking every field.
    pub fn read(&self) -> Result<Enterprise, DocError> {
        read_record(&self.inner)
    }
}

/// Reads a record document of this kind in place, like [`EnterpriseDoc::read`] without the wrapper
/// (the server validates pushed documents this way, without copying them).
pub(crate) fn read_record(inner: &RecordDoc) -> Result<Enterprise, DocError> {
    inner.expect_kind(DocKind::Enterprise)?;
    let mut r = inner.reader();
    let v = read_enterprise(&mut r)?;
    Ok(Enterprise {
        needs_decision: r.needs_decision,
        ..v
    })
}

fn read_enterprise(r: &mut Reader<'_>) -> Result<Enterprise, DocError> {
    let position = match r.obj(&ROOT, "position")? {
        Some(obj) => {
            let lat = r.f64(&obj, "lat", "position.lat")?;
            let lon = r.f64(&obj, "lon", "position.lon")?;
            let acc = r.f64(&obj, "accuracy_m", "position.accuracy_m")?;
            Some(
                Position::new(lat, lon, acc).map_err(|e| DocError::BadValue {
                    field: "position".into(),
                    error: e.to_string(),
                })?,
            )
        }
        None => None,
    };
    let mut contacts = std::collections::BTreeMap::new();
    for (key, obj) in r.entries(&ROOT, "contacts")? {
        let id = EntryId::parse(&key).map_err(|e| DocError::BadValue {
            field: "contacts".into(),
            error: e.to_string(),
        })?;
        let label = |f: &str| format!("contacts.{key}.{f}");
        contacts.insert(
            id,
            Contact {
                name: r.str(&obj, "name", &label("name"))?,
                title: r
                    .opt_str(&obj, "title", &label("title"))?
                    .unwrap_or_default(),
                phone: r
                    .opt_str(&obj, "phone", &label("phone"))?
                    .unwrap_or_default(),
            },
        );
    }
    Ok(Enterprise {
        id: r.parse(&ROOT, "id", "id", EnterpriseId::parse)?,
        credit_code: r.parse(&ROOT, "credit_code", "credit_code", CreditCode::parse)?,
        name: r.str(&ROOT, "name", "name")?,
        address: r.str(&ROOT, "address", "address")?,
        town: r.parse(&ROOT, "town", "town", OrgUnitId::parse)?,
        industry: r.str(&ROOT, "industry", "industry")?,
        size: r.parse(&ROOT, "size", "size", EnterpriseSize::from_code)?,
        key_enterprise: r.bool(&ROOT, "key_enterprise", "key_enterprise")?,
        position,
        contacts,
        needs_decision: Vec::new(),
    })
}

super::typed_doc!(EnterpriseDoc, DocKind::Enterprise, "enterprise");
