//! `lianxin-server org-units list|add|rename|move`: the command line's side of
//! [`super::org_units`], audited as `cli:<user>`; the writing ones hold the database's lock
//! (`super::lock`, taken by [`super::run`]).

use std::io::Write;
use std::path::Path;

use shared::model::Timestamp;

use super::org_units::{self, NewOrgUnit};
use super::{AdminError, audit};
use crate::cli::{OrgUnitAddArgs, OrgUnitMoveArgs, OrgUnitRenameArgs};
use crate::printable::printable;
use crate::store::SqliteStore;

/// `org-units list`: the tree, depth first, each name indented by its depth.
pub(super) fn list(db: &Path, out: &mut dyn Write) -> Result<(), AdminError> {
    let store = SqliteStore::open(db)?;
    writeln!(out, "code\tname\tkind\tparent\tid\tmembers")?;
    for row in org_units::tree(&store)? {
        writeln!(
            out,
            "{}\t{}{}\t{}\t{}\t{}\t{}",
            printable(&row.entry.code),
            "  ".repeat(row.depth),
            printable(&row.entry.unit.name),
            row.entry.unit.kind.code(),
            printable(row.parent_code.as_deref().unwrap_or("")),
            row.entry.unit.id,
            row.members
        )?;
    }
    Ok(())
}

/// `org-units add --code --name --kind [--parent]`.
pub(super) fn add(
    a: &OrgUnitAddArgs,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let mut store = SqliteStore::open(&a.db.db)?;
    let added = org_units::add(
        &mut store,
        &NewOrgUnit {
            code: a.code.clone(),
            name: a.name.clone(),
            kind: a.kind.clone(),
            parent: a.parent.clone(),
        },
        now,
        &audit::cli_actor(),
    )?;
    writeln!(
        out,
        "added {} ({}, {}) as org unit {}",
        printable(&added.code),
        printable(&added.unit.name),
        added.unit.kind.code(),
        added.unit.id
    )?;
    Ok(())
}

/// `org-units rename CODE NAME`.
pub(super) fn rename(
    a: &OrgUnitRenameArgs,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let mut store = SqliteStore::open(&a.db.db)?;
    let renamed = org_units::rename(&mut store, &a.code, &a.name, now, &audit::cli_actor())?;
    writeln!(
        out,
        "renamed {} to {}",
        printable(&renamed.code),
        printable(&renamed.unit.name)
    )?;
    Ok(())
}

/// `org-units move CODE --parent PARENT`.
pub(super) fn move_to(
    a: &OrgUnitMoveArgs,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let mut store = SqliteStore::open(&a.db.db)?;
    let moved = org_units::move_to(&mut store, &a.code, &a.parent, now, &audit::cli_actor())?;
    writeln!(
        out,
        "moved {} under {}",
        printable(&moved.code),
        printable(a.parent.trim())
    )?;
    Ok(())
}
