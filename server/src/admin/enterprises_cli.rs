//! `lianxin-server enterprises list|show|edit|merge`: the command line's side of
//! [`super::enterprises`] (the import is `super::import`'s).

use std::io::Write;

use shared::model::Timestamp;

use super::AdminError;
use super::enterprises::{self, Acting, ContactInput, EnterpriseEdit, PositionInput};
use crate::cli::{EnterpriseEditArgs, EnterpriseIdArgs, EnterpriseListArgs, EnterpriseMergeArgs};
use crate::printable::printable;
use crate::store::{EnterpriseQuery, SqliteStore};

fn acting() -> Acting {
    Acting {
        login: super::audit::cli_actor(),
        user: None,
    }
}

fn config(path: Option<&std::path::Path>) -> Result<shared::config::Config, AdminError> {
    crate::serve::load_config(path).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// `enterprises list`.
pub(super) fn list(a: &EnterpriseListArgs, out: &mut dyn Write) -> Result<(), AdminError> {
    let store = SqliteStore::open(&a.db.db)?;
    let rows = store.admin_enterprises(&EnterpriseQuery {
        q: a.q.clone(),
        duplicates: a.duplicates,
        merged: a.merged,
        offset: 0,
        limit: u32::MAX,
    })?;
    writeln!(
        out,
        "id\tcredit_code\tname\ttown\tkey\tduplicates\tmerged_into"
    )?;
    for r in rows {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            printable(&r.credit_code),
            printable(&r.name),
            printable(&r.town_name),
            if r.key_enterprise { "yes" } else { "no" },
            r.duplicates,
            r.merged_into.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// `enterprises show ID`.
pub(super) fn show(a: &EnterpriseIdArgs, out: &mut dyn Write) -> Result<(), AdminError> {
    let mut store = SqliteStore::open(&a.db.db)?;
    let e = enterprises::show(&mut store, enterprises::parse_id(&a.id)?)?;
    print_view(&e, out)
}

fn print_view(e: &enterprises::EnterpriseView, out: &mut dyn Write) -> Result<(), AdminError> {
    writeln!(out, "id\t{}", e.id)?;
    writeln!(out, "credit_code\t{}", printable(&e.credit_code))?;
    writeln!(out, "name\t{}", printable(&e.name))?;
    writeln!(out, "address\t{}", printable(&e.address))?;
    writeln!(out, "industry\t{}", printable(&e.industry))?;
    writeln!(out, "size\t{}", e.size)?;
    writeln!(out, "key_enterprise\t{}", e.key_enterprise)?;
    if let Some(p) = e.position {
        writeln!(out, "position\t{},{},{}", p.lat, p.lon, p.accuracy_m)?;
    }
    for c in &e.contacts {
        writeln!(
            out,
            "contact\t{}\t{}\t{}\t{}",
            c.id,
            printable(&c.name),
            printable(&c.title),
            printable(&c.phone)
        )?;
    }
    if let Some(s) = &e.merged_into {
        writeln!(out, "merged_into\t{s}")?;
    }
    for a in &e.absorbed {
        writeln!(out, "absorbed\t{a}")?;
    }
    writeln!(out, "records\t{}", e.records)?;
    Ok(())
}

/// The edit the flags of `enterprises edit` ask for, given the stored profile's contacts.
fn edit_of(
    a: &EnterpriseEditArgs,
    current: &enterprises::EnterpriseView,
) -> Result<EnterpriseEdit, AdminError> {
    let key = match a.key.as_deref() {
        None => None,
        Some("yes" | "true" | "是") => Some(true),
        Some("no" | "false" | "否") => Some(false),
        Some(other) => {
            return Err(AdminError::Invalid(format!(
                "--key {other:?}: use yes or no"
            )));
        }
    };
    let position = match a.position.as_deref() {
        None => None,
        Some(p) => {
            let parts: Vec<Result<f64, _>> = p.split(',').map(|x| x.trim().parse()).collect();
            match parts.as_slice() {
                [Ok(lat), Ok(lon), Ok(accuracy_m)] => Some(PositionInput {
                    lat: *lat,
                    lon: *lon,
                    accuracy_m: *accuracy_m,
                }),
                _ => {
                    return Err(AdminError::Invalid(format!(
                        "--position {p:?}: use LAT,LON,ACCURACY_M"
                    )));
                }
            }
        }
    };
    let contacts = if a.add_contact.is_empty() && a.remove_contact.is_empty() {
        None
    } else {
        for id in &a.remove_contact {
            if !current.contacts.iter().any(|c| &c.id == id) {
                return Err(AdminError::Invalid(format!(
                    "--remove-contact {id:?}: no such contact (enterprises show lists them)"
                )));
            }
        }
        let mut list: Vec<ContactInput> = current
            .contacts
            .iter()
            .filter(|c| !a.remove_contact.contains(&c.id))
            .map(|c| ContactInput {
                id: Some(c.id.clone()),
                name: c.name.clone(),
                title: c.title.clone(),
                phone: c.phone.clone(),
            })
            .collect();
        for c in &a.add_contact {
            let mut parts = c.splitn(3, ',');
            list.push(ContactInput {
                id: None,
                name: parts.next().unwrap_or_default().to_string(),
                title: parts.next().unwrap_or_default().to_string(),
                phone: parts.next().unwrap_or_default().to_string(),
            });
        }
        Some(list)
    };
    Ok(EnterpriseEdit {
        name: a.name.clone(),
        address: a.address.clone(),
        industry: a.industry.clone(),
        size: a.size.clone(),
        key_enterprise: key,
        position,
        contacts,
    })
}

/// `enterprises edit ID …`.
pub(super) fn edit(
    a: &EnterpriseEditArgs,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let config = config(a.config.as_deref())?;
    let mut store = SqliteStore::open(&a.db.db)?;
    let id = enterprises::parse_id(&a.id)?;
    let current = enterprises::show(&mut store, id)?;
    let change = edit_of(a, &current)?;
    let after = enterprises::edit(&mut store, id, &change, &config, now, &acting())?;
    print_view(&after, out)
}

/// `enterprises merge --keep ID --absorb ID`.
pub(super) fn merge(
    a: &EnterpriseMergeArgs,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let config = config(a.config.as_deref())?;
    let mut store = SqliteStore::open(&a.db.db)?;
    let r = enterprises::merge(
        &mut store,
        enterprises::parse_id(&a.keep)?,
        enterprises::parse_id(&a.absorb)?,
        &config,
        now,
        &acting(),
    )?;
    writeln!(
        out,
        "merged {} into {}: {} record(s) re-pointed, {} contact(s) taken over, {} assignment(s) \
         moved, {} ended",
        r.absorbed,
        r.survivor,
        r.records_moved,
        r.contacts_added,
        r.assignments_moved,
        r.assignments_ended
    )?;
    Ok(())
}
