//! `lianxin-server config apply FILE`: the district configuration changed with no server
//! running. FILE is validated first (every error listed, even while a server runs), then put
//! in place of the server's configuration file (`--config`) atomically, and the change is
//! recorded like an apply through the running server (`live_config`): among the published
//! configurations and in the audit log with both versions. While a server holds the database
//! the command is refused (`admin::lock`) and names the running server's ways: `POST
//! /api/admin/config` or SIGHUP.

use std::io::Write;

use shared::model::Timestamp;

use super::{AdminError, audit};
use crate::cli::ApplyArgs;
use crate::live_config::{AUDIT_SUBJECT, applied_version, write_atomically};
use crate::published_config::PublishedConfig;
use crate::store::{AuditAction, SqliteStore};

/// FILE's text and its version, or every error it has.
///
/// # Errors
/// [`AdminError::Invalid`] listing every problem; an unreadable file.
pub(super) fn validate(args: &ApplyArgs) -> Result<(String, PublishedConfig), AdminError> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| AdminError::Invalid(format!("cannot read {}: {e}", args.file.display())))?;
    match crate::serve::parse_settings(&text) {
        Ok((config, _)) => Ok((text, PublishedConfig::new(&config))),
        Err(e) => {
            let problems = e.problems();
            Err(AdminError::Invalid(format!(
                "{} 有 {} 处错误，未应用 / {} has {} error(s), nothing was applied:\n{}",
                args.file.display(),
                problems.len(),
                args.file.display(),
                problems.len(),
                problems.join("\n")
            )))
        }
    }
}

/// Validates, writes and records; the caller holds the database's lock.
///
/// # Errors
/// [`AdminError`]: errors in FILE, no `--config`, a file or the store failing.
pub(super) fn apply(
    args: &ApplyArgs,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let (text, published) = validate(args)?;
    let target = args.config.as_ref().ok_or_else(|| {
        AdminError::Invalid(
            "config apply 需要 --config（服务器启动时读取的配置文件）/ config apply needs \
             --config: the configuration file the server starts with"
                .into(),
        )
    })?;
    if std::fs::canonicalize(&args.file).ok() != std::fs::canonicalize(target).ok() {
        write_atomically(target, &text)?;
    }
    let mut store = SqliteStore::open(&args.db.db)?;
    let version = published.version();
    store.remember_config(version, published.json(), now)?;
    let previous = store
        .last_audit_detail(AuditAction::ConfigApplied)?
        .map(|d| applied_version(&d).to_string());
    if previous.as_deref() != Some(version) {
        let detail = format!("{} → {version}", previous.as_deref().unwrap_or("none"));
        store.audit(
            now,
            &audit::cli_actor(),
            AuditAction::ConfigApplied,
            AUDIT_SUBJECT,
            &detail,
        )?;
    }
    writeln!(
        out,
        "{} 已应用为版本 {version}，服务器下次启动时生效 / applied to {} as version {version} \
         (was {}); the server runs it from its next start",
        args.file.display(),
        target.display(),
        previous.as_deref().unwrap_or("none"),
    )?;
    Ok(())
}
