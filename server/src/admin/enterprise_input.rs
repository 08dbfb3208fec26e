//! An administrator's edit of an enterprise profile as given (command line, HTTP): its types,
//! the checks of every field (bounded text without control characters, phone numbers,
//! positions, contacts by entry id), and the one change that writes what differs from the
//! stored profile (`super::enterprises`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::doc::EnterpriseDoc;
use shared::model::{Actor, Contact, Enterprise, EnterpriseSize, EntryId, Position, Timestamp};

use super::AdminError;

/// Longest name, in characters.
pub const NAME_MAX: usize = 200;
/// Longest address or industry, in characters.
pub const TEXT_MAX: usize = 300;
/// Longest contact name or role, in characters.
pub const CONTACT_TEXT_MAX: usize = 50;
/// Longest phone number, in characters.
pub const PHONE_MAX: usize = 32;
/// Most contacts a profile keeps.
pub const CONTACTS_MAX: usize = 30;

/// A contact as the administrator gives it: with the id of the one it replaces, or none for a
/// new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// The contact's entry id (as answered by `show`); absent for a new contact.
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Role in the enterprise (职务), e.g. 总经理.
    #[serde(default)]
    pub title: String,
    /// Phone number: digits, spaces, `+ - ( )`.
    #[serde(default)]
    pub phone: String,
}

/// A position as the administrator gives it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Accuracy, metres.
    pub accuracy_m: f64,
}

/// An administrator's edit of a profile: each field given is set, each absent one kept.
/// `contacts`, when given, is the whole list: contacts not in it are removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseEdit {
    /// Registered name.
    #[serde(default)]
    pub name: Option<String>,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
    /// Industry.
    #[serde(default)]
    pub industry: Option<String>,
    /// `above` or `below` (规上/规下).
    #[serde(default)]
    pub size: Option<String>,
    /// 重点企业.
    #[serde(default)]
    pub key_enterprise: Option<bool>,
    /// Where it is.
    #[serde(default)]
    pub position: Option<PositionInput>,
    /// Every contact it keeps.
    #[serde(default)]
    pub contacts: Option<Vec<ContactInput>>,
}

/// A text field checked: trimmed, no control characters, within `max` characters, not empty
/// when `required`.
fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(format!("{field}: 不能为空 / must not be empty"));
    }
    if value.chars().count() > max {
        return Err(format!(
            "{field}: 最多 {max} 个字符 / at most {max} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field}: 含控制字符 / contains control characters"));
    }
    Ok(value.to_string())
}

fn phone(field: &str, value: &str) -> Result<String, String> {
    let value = text(field, value, PHONE_MAX, false)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
    {
        return Err(format!(
            "{field}: 只能包含数字、空格和 + - ( ) / only digits, spaces and + - ( )"
        ));
    }
    if !value.is_empty() && value.chars().filter(char::is_ascii_digit).count() < 5 {
        return Err(format!(
            "{field}: 号码太短 / a phone number has at least 5 digits"
        ));
    }
    Ok(value)
}

/// Checks an edit against the stored profile; returns the profile as it would be, or every
/// problem found.
pub(super) fn checked(
    current: &Enterprise,
    edit: &EnterpriseEdit,
) -> Result<Enterprise, AdminError> {
    let mut errors = Vec::new();
    let mut next = current.clone();
    let mut take = |r: Result<String, String>, slot: &mut String| match r {
        Ok(v) => *slot = v,
        Err(e) => errors.push(e),
    };
    if let Some(v) = &edit.name {
        take(text("name", v, NAME_MAX, true), &mut next.name);
    }
    if let Some(v) = &edit.address {
        take(text("address", v, TEXT_MAX, false), &mut next.address);
    }
    if let Some(v) = &edit.industry {
        take(text("industry", v, TEXT_MAX, false), &mut next.industry);
    }
    if let Some(v) = &edit.size {
        match EnterpriseSize::from_code(v) {
            Ok(s) => next.size = s,
            Err(_) => errors.push(format!(
                "size {v:?}: 用 above 或 below / use above or below"
            )),
        }
    }
    if let Some(k) = edit.key_enterprise {
        next.key_enterprise = k;
    }
    if let Some(p) = edit.position {
        match Position::new(p.lat, p.lon, p.accuracy_m) {
            Ok(p) => next.position = Some(p),
            Err(e) => errors.push(format!("position: {e}")),
        }
    }
    if let Some(contacts) = &edit.contacts {
        if contacts.len() > CONTACTS_MAX {
            errors.push(format!(
                "contacts: 最多 {CONTACTS_MAX} 位 / at most {CONTACTS_MAX} contacts"
            ));
        }
        let mut list = BTreeMap::new();
        for (i, c) in contacts.iter().enumerate() {
            let n = i + 1;
            let id = match c.id.as_deref() {
                None | Some("") => {
                    EntryId::from_random_bytes(crate::auth::token::random_id_bytes())
                }
                Some(id) => match EntryId::parse(id) {
                    Ok(id) if current.contacts.contains_key(&id) => id,
                    _ => {
                        errors.push(format!(
                            "contacts[{n}].id {id:?}: 没有这位联系人 / no such contact"
                        ));
                        continue;
                    }
                },
            };
            let name = text(
                &format!("contacts[{n}].name"),
                &c.name,
                CONTACT_TEXT_MAX,
                true,
            );
            let title = text(
                &format!("contacts[{n}].title"),
                &c.title,
                CONTACT_TEXT_MAX,
                false,
            );
            let phone = phone(&format!("contacts[{n}].phone"), &c.phone);
            match (name, title, phone) {
                (Ok(name), Ok(title), Ok(phone)) => {
                    if list.insert(id, Contact { name, title, phone }).is_some() {
                        errors.push(format!("contacts[{n}].id: 重复 / given twice"));
                    }
                }
                (name, title, phone) => {
                    errors.extend([name.err(), title.err(), phone.err()].into_iter().flatten());
                }
            }
        }
        next.contacts = list;
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(AdminError::Invalid(errors.join("; ")))
    }
}

/// Writes into `doc` the fields where `next` differs from `current`, as one change; returns
/// whether anything changed.
pub(super) fn write_differences(
    doc: &mut EnterpriseDoc,
    current: &Enterprise,
    next: &Enterprise,
    actor: &Actor,
    now: Timestamp,
) -> Result<bool, AdminError> {
    if current == next {
        return Ok(false);
    }
    doc.edit(actor, now, |w| {
        if next.name != current.name {
            w.set_name(&next.name)?;
        }
        if next.address != current.address {
            w.set_address(&next.address)?;
        }
        if next.industry != current.industry {
            w.set_industry(&next.industry)?;
        }
        if next.size != current.size {
            w.set_size(next.size)?;
        }
        if next.key_enterprise != current.key_enterprise {
            w.set_key_enterprise(next.key_enterprise)?;
        }
        if let Some(p) = &next.position
            && next.position != current.position
        {
            w.set_position(p)?;
        }
        for id in current.contacts.keys() {
            if !next.contacts.contains_key(id) {
                w.remove_contact(*id)?;
            }
        }
        for (id, c) in &next.contacts {
            if current.contacts.get(id) != Some(c) {
                w.put_contact(*id, c)?;
            }
        }
        Ok(())
    })
    .map_err(|e| AdminError::Invalid(e.to_string()))?;
    Ok(true)
}

pub(super) fn changed_fields(a: &Enterprise, b: &Enterprise) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (changed, name) in [
        (a.name != b.name, "name"),
        (a.address != b.address, "address"),
        (a.industry != b.industry, "industry"),
        (a.size != b.size, "size"),
        (a.key_enterprise != b.key_enterprise, "key_enterprise"),
        (a.position != b.position, "position"),
        (a.contacts != b.contacts, "contacts"),
    ] {
        if changed {
            out.push(name);
        }
    }
    out
}
