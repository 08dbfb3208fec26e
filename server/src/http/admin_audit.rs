//! The audit log over HTTP (审计日志, issue 17 item 3's screen): what `lianxin-server audit
//! list [--csv]|verify` shows, for the administrator while the server runs.
//! - `GET /api/admin/audit?action&actor&q&from&to&before&limit`: a page of entries, newest
//!   first, kept by the filter ([`crate::store::AuditFilter`]); `next_before` asks for the next;
//!   with every action code the log knows, for the screen's filter;
//! - `GET /api/admin/audit/export` (same filter): every kept entry as CSV, the command line's
//!   columns, cells neutralized for spreadsheets;
//! - `GET /api/admin/audit/verify`: the hash chain walked whole
//!   ([`crate::db::AuditLog::verify_audit`]).
//!
//! Read through [`crate::db::AuditLog`] on either database (SQLite or PostgreSQL), with the
//! same statements and walk (`store/audit_query.rs`).
//!
//! Reading changes nothing, so nothing here is audited. Who may:
//! `shared::workflow::rights::ACCOUNTS` (the administrator).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::model::Timestamp;

use super::admin::{admin_only, on_directory};
use super::error::ApiError;
use super::extract::ApiQuery;
use crate::AppState;
use crate::admin::{AUDIT_CSV_HEADER, audit_csv_row};
use crate::auth::Authenticated;
use crate::store::{AuditAction, AuditEntry, AuditFilter, AuditVerdict};

/// Entries in a page when the query names no limit.
const DEFAULT_PAGE: usize = 100;
/// Most entries in a page: the API's one page size ([`crate::api::MAX_PAGE`]).
const MAX_PAGE: usize = crate::api::MAX_PAGE as usize;
/// Entries read at a time for an export.
const EXPORT_CHUNK: usize = 1_000;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(list))
        .route("/admin/audit/export", get(export))
        .route("/admin/audit/verify", get(verify))
}

/// The query of a list or an export.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// An action code.
    pub action: Option<String>,
    /// An actor (a login, `server`, `cli:<user>`).
    pub actor: Option<String>,
    /// Text the actor, subject or detail contains.
    pub q: Option<String>,
    /// From this instant (ms), inclusive.
    pub from: Option<i64>,
    /// Until this instant (ms), exclusive.
    pub to: Option<i64>,
    /// Only entries before this position (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Entries in the page (1 to [`MAX_PAGE`]).
    pub limit: Option<usize>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        let given = |s: &Option<String>| s.as_ref().filter(|s| !s.is_empty()).cloned();
        AuditFilter {
            action: given(&self.action),
            actor: given(&self.actor),
            text: given(&self.q),
            from: self.from.map(Timestamp),
            to: self.to.map(Timestamp),
        }
    }
}

/// `GET /api/admin/audit`'s answer.
#[derive(Debug, Serialize)]
pub struct AuditPage {
    /// The entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// Ask with `before` = this for the next page; none: this was the last.
    pub next_before: Option<i64>,
    /// Every action code the log records.
    pub actions: Vec<&'static str>,
}

async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    query: Result<ApiQuery<AuditQuery>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiQuery(query) = query.map_err(IntoResponse::into_response)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit is 1 to {MAX_PAGE}")).into_response());
    }
    let filter = query.filter();
    let entries = on_directory(
        state
            .db()
            .audit_log()
            .search_audit(filter, query.before, limit),
    )
    .await?;
    let next_before = match entries.last() {
        Some(last) if entries.len() == limit => Some(last.seq),
        _ => None,
    };
    Ok(Json(AuditPage {
        entries,
        next_before,
        actions: AuditAction::ALL.iter().map(|a| a.code()).collect(),
    })
    .into_response())
}

async fn export(
    State(state): State<AppState>,
    auth: Authenticated,
    query: Result<ApiQuery<AuditQuery>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiQuery(query) = query.map_err(IntoResponse::into_response)?;
    let filter = query.filter();
    let mut before = query.before;
    let log = state.db().audit_log();
    // Newest first, as the screen shows it; a BOM so spreadsheet programs read Chinese. The
    // pages follow each other by position, so entries appended meanwhile are left out.
    let mut text = format!("\u{feff}{AUDIT_CSV_HEADER}");
    loop {
        let page = on_directory(log.search_audit(filter.clone(), before, EXPORT_CHUNK)).await?;
        for e in &page {
            text.push_str(&audit_csv_row(e));
        }
        match page.last() {
            Some(last) if page.len() == EXPORT_CHUNK => before = Some(last.seq),
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
        ],
        text,
    )
        .into_response())
}

/// `GET /api/admin/audit/verify`'s answer.
#[derive(Debug, Serialize)]
pub struct Verified {
    /// Every entry's hash holds and links to the one before.
    pub intact: bool,
    /// Entries checked (when intact).
    pub entries: Option<i64>,
    /// The first entry that does not hold (when broken).
    pub broken_at: Option<i64>,
    /// What is wrong with it.
    pub reason: Option<String>,
}

async fn verify(State(state): State<AppState>, auth: Authenticated) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let verdict = on_directory(state.db().audit_log().verify_audit()).await?;
    let body = match verdict {
        AuditVerdict::Intact { entries } => Verified {
            intact: true,
            entries: Some(entries),
            broken_at: None,
            reason: None,
        },
        AuditVerdict::Broken { seq, reason } => Verified {
            intact: false,
            entries: None,
            broken_at: Some(seq),
            reason: Some(reason),
        },
    };
    Ok(Json(body).into_response())
}
