//! `lianxin-server audit list|verify`: the audit log as a table or CSV, and the check of its
//! hash chain; and how the command line names itself in the log.

use std::io::Write;

use super::AdminError;
use crate::cli::AuditCommand;
use crate::export::csv_field;
use crate::printable::printable;
use crate::store::{AuditEntry, AuditVerdict, SqliteStore};

/// How many entries are read at a time.
const PAGE: usize = 1000;

/// Who the command line is in the log: `cli` and the operating-system user running it.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "?".into());
    format!("cli:{user}")
}

/// The header line of the log as CSV (`audit list --csv`, `GET /api/admin/audit/export`).
pub const CSV_HEADER: &str = "seq,at,actor,action,subject,detail,hash\n";

/// One entry as a CSV line, cells neutralized for spreadsheets ([`csv_field`]).
pub fn csv_row(e: &AuditEntry) -> String {
    let cells = [
        e.seq.to_string(),
        e.at.to_string(),
        e.actor.clone(),
        e.action.clone(),
        e.subject.clone(),
        e.detail.clone(),
        e.hash.clone(),
    ];
    let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
    format!("{}\n", line.join(","))
}

/// Runs `audit list` or `audit verify`.
pub fn run(command: AuditCommand, out: &mut dyn Write) -> Result<(), AdminError> {
    match command {
        AuditCommand::List(a) => {
            let store = SqliteStore::open(&a.db.db)?;
            if a.csv {
                write!(out, "\u{feff}{CSV_HEADER}")?;
            } else {
                writeln!(out, "seq\tat\tactor\taction\tsubject\tdetail")?;
            }
            let mut after = a.after;
            loop {
                let page = store.audit_log(after, PAGE)?;
                for e in &page {
                    if a.csv {
                        write!(out, "{}", csv_row(e))?;
                    } else {
                        writeln!(
                            out,
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            e.seq,
                            e.at,
                            printable(&e.actor),
                            e.action,
                            printable(&e.subject),
                            printable(&e.detail)
                        )?;
                    }
                }
                match page.last() {
                    Some(last) if page.len() == PAGE => after = last.seq,
                    _ => return Ok(()),
                }
            }
        }
        AuditCommand::Verify(db) => {
            let store = SqliteStore::open(&db.db)?;
            match store.verify_audit()? {
                AuditVerdict::Intact { entries } => {
                    writeln!(out, "the audit log is intact: {entries} entries")?;
                    Ok(())
                }
                AuditVerdict::Broken { seq, reason } => Err(AdminError::Invalid(format!(
                    "the audit log is broken at entry {seq}: {reason}"
                ))),
            }
        }
    }
}
