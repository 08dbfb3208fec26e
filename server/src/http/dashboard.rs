//! Leaders' read APIs: `GET /api/dashboard/kpis` (campaign KPIs of a period and unit),
//! `GET /api/dashboard/breakdown` (the period's problems by category, tier, town, department
//! or month, for the dashboard's charts),
//! `GET /api/dashboard/freshness` (per officer and device: last sync, changes still on the
//! device as last reported, clock skew) and bulletins — `GET /api/bulletins` lists them, `POST /api/bulletins` issues one, `GET /api/bulletins/{id}` reads it, and
//! `GET /api/bulletins/{id}/xlsx|csv` exports it. Leaders and supervisors only; a town's leader
//! sees their town, a zone leader any unit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::model::{OrgUnitId, OrgUnitKind, Role, Timestamp, User};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::api::{
    Breakdown, BreakdownQuery, BreakdownRow, Bulletin, BulletinSummary, Kpis, OfficerFreshness,
    TITLE_MAX_CHARS, Unit,
};
use crate::auth::{Authenticated, now};
use crate::db::{Db, NewBulletin};
use crate::store::{OrgUnitEntry, StoreError};
use crate::sync::SyncService;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/kpis", get(kpis))
        .route("/dashboard/freshness", get(freshness))
        .route("/dashboard/breakdown", get(breakdown))
        .route("/bulletins", get(list).post(issue))
        .route("/bulletins/{id}", get(read))
        .route("/bulletins/{id}/xlsx", get(xlsx))
        .route("/bulletins/{id}/csv", get(csv))
}

/// `GET /api/dashboard/kpis` parameters: a period in ms and an optional unit.
#[derive(Debug, Deserialize)]
pub struct KpiQuery {
    /// First instant of the period.
    pub from: i64,
    /// First instant after the period.
    pub to: i64,
    /// A town or department; the person's own unit when absent.
    pub unit: Option<OrgUnitId>,
}

/// `POST /api/bulletins` body.
#[derive(Debug, Deserialize)]
pub struct IssueRequest {
    /// Title.
    pub title: String,
    /// First instant of the period.
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub from: i64,
    /// First instant after the period.
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub to: i64,
}

fn internal(e: StoreError) -> ApiError {
    ApiError::from_store(&e, "dashboard store failure")
}

fn require_leader(user: &User) -> Result<(), ApiError> {
    match user.role {
        Role::Leader | Role::Supervisor => Ok(()),
        _ => Err(ApiError::Forbidden(
            "dashboards are for leaders and supervisors".into(),
        )),
    }
}

/// The unit a person asks for, if they may see it.
async fn resolve_unit(db: &Db, user: &User, asked: Option<OrgUnitId>) -> Result<Unit, ApiError> {
    resolve_unit_entry(db, user, asked)
        .await
        .map(|(unit, _)| unit)
}

/// The unit a person asks for, if they may see it, with its directory entry.
async fn resolve_unit_entry(
    db: &Db,
    user: &User,
    asked: Option<OrgUnitId>,
) -> Result<(Unit, OrgUnitEntry), ApiError> {
    let own = db
        .directory()
        .org_unit(user.org_unit)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::Forbidden("your org unit is unknown".into()))?;
    let target = asked.unwrap_or(user.org_unit);
    let entry = db
        .directory()
        .org_unit(target)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no org unit {target}")))?;
    if own.unit.kind != OrgUnitKind::Zone && target != user.org_unit {
        return Err(ApiError::Forbidden(
            "a town's leader sees their own town".into(),
        ));
    }
    let unit = match entry.unit.kind {
        OrgUnitKind::Zone => Unit::Zone,
        OrgUnitKind::Town => Unit::Town(target),
        OrgUnitKind::Department => Unit::Department(target),
    };
    Ok((unit, entry))
}

fn period(from: i64, to: i64) -> Result<(Timestamp, Timestamp), ApiError> {
    if from >= to {
        return Err(ApiError::Contradictory(format!(
            "the period must start before it ends (from {from}, to {to})"
        )));
    }
    Ok((Timestamp(from), Timestamp(to)))
}

/// How long a shared answer may be given out while the change feed stands still (overdue
/// status moves with the clock, assignments with the directory).
const SHARED_FOR: Duration = Duration::from_secs(10);
/// Most answers kept at one feed position.
const SHARED_MAX: usize = 256;

/// A KPI or breakdown answer.
#[derive(Debug, Clone)]
enum Answer {
    Kpis(Box<Kpis>),
    Rows(Vec<BreakdownRow>),
}

/// Answers computed at one position of the change feed of one server. An officer's sync makes
/// every open dashboard read again at once; those asking the same question (the zone, a town,
/// the default period) share one computation under the store's lock instead of repeating it.
/// The whole set is dropped as soon as the feed moves.
#[derive(Debug)]
struct SharedAnswers {
    /// The server they belong to (a `Weak` keeps its address from being reused).
    service: Weak<SyncService>,
    /// The feed position they were computed at.
    seq: u64,
    answers: HashMap<String, (Instant, Answer)>,
}

static SHARED: Mutex<Option<SharedAnswers>> = Mutex::new(None);

/// Drops every shared answer: the org units' names or tree changed (an administrator's
/// rename or move), which the change feed does not see, and breakdowns name units.
pub(super) fn forget_shared_answers() {
    *SHARED.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// The answer to `key` at the database's current feed position: shared when someone asked
/// the same less than [`SHARED_FOR`] ago, else computed and shared.
async fn shared_answer(
    service: &Arc<SyncService>,
    db: &Db,
    key: String,
    compute: impl Future<Output = Result<Answer, ApiError>>,
) -> Result<Answer, ApiError> {
    let seq = db.queries().feed_position().await.map_err(internal)?;
    let current = |shared: &SharedAnswers| {
        shared.seq == seq && std::ptr::eq(shared.service.as_ptr(), Arc::as_ptr(service))
    };
    {
        let guard = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = guard.as_ref().filter(|s| current(s))
            && let Some((at, answer)) = shared.answers.get(&key)
            && at.elapsed() < SHARED_FOR
        {
            return Ok(answer.clone());
        }
    }
    let answer = compute.await?;
    let mut guard = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if !guard.as_ref().is_some_and(current) {
        *guard = Some(SharedAnswers {
            service: Arc::downgrade(service),
            seq,
            answers: HashMap::new(),
        });
    }
    if let Some(shared) = guard.as_mut() {
        if shared.answers.len() >= SHARED_MAX {
            shared.answers.clear();
        }
        shared.answers.insert(key, (Instant::now(), answer.clone()));
    }
    Ok(answer)
}

async fn kpis(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Json<Kpis>, ApiError> {
    require_leader(&auth.user)?;
    let (from, to) = period(q.from, q.to)?;
    let db = state.db();
    let unit = resolve_unit(db, &auth.user, q.unit).await?;
    let key = format!("kpis {unit:?} {} {}", from.0, to.0);
    let check_in = state.sync().config().check_in.clone();
    let compute = async {
        db.queries()
            .kpis(unit, from, to, now(), check_in)
            .await
            .map(|k| Answer::Kpis(Box::new(k)))
            .map_err(internal)
    };
    match shared_answer(state.sync(), db, key, compute).await? {
        Answer::Kpis(k) => Ok(Json(*k)),
        Answer::Rows(_) => Err(ApiError::Internal),
    }
}

/// `GET /api/dashboard/breakdown` parameters: the period and unit of the KPIs, a grouping and
/// the time zone months are counted in.
#[derive(Debug, Deserialize)]
pub struct BreakdownParams {
    /// First instant of the period.
    pub from: i64,
    /// First instant after the period.
    pub to: i64,
    /// A town or department; the person's own unit when absent.
    pub unit: Option<OrgUnitId>,
    /// `category`, `tier`, `town`, `department` or `month`.
    pub by: String,
    /// Minutes east of UTC for month boundaries; 480 (China) when absent.
    pub tz: Option<i32>,
}

/// The time zones months may be counted in: minutes east of UTC (UTC−12 to UTC+14).
pub const TZ_MINUTES: std::ops::RangeInclusive<i32> = -720..=840;

/// The org unit a dashboard answer is about.
#[derive(Debug, Serialize)]
pub struct UnitInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `zone`, `town` or `department`: a zone's people may pick any unit.
    pub kind: &'static str,
}

/// `GET /api/dashboard/breakdown` answer.
#[derive(Debug, Serialize)]
pub struct BreakdownAnswer {
    /// The unit the rows cover.
    pub unit: UnitInfo,
    /// The grouping.
    pub by: Breakdown,
    /// One row per key, in display order.
    pub rows: Vec<BreakdownRow>,
}

/// `GET /api/dashboard/breakdown`: the problems the `problems` KPI counts, grouped for a chart,
/// each group with its resolved and overdue counts.
async fn breakdown(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<BreakdownParams>,
) -> Result<Json<BreakdownAnswer>, ApiError> {
    require_leader(&auth.user)?;
    let (from, to) = period(q.from, q.to)?;
    let by = Breakdown::from_code(&q.by).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown breakdown {:?}: category, tier, town, department or month",
            q.by
        ))
    })?;
    let utc_offset_minutes = q.tz.unwrap_or(480);
    if !TZ_MINUTES.contains(&utc_offset_minutes) {
        return Err(ApiError::BadRequest(format!(
            "tz must be minutes east of UTC, {}..={}, not {utc_offset_minutes}",
            TZ_MINUTES.start(),
            TZ_MINUTES.end()
        )));
    }
    let db = state.db();
    let (unit, entry) = resolve_unit_entry(db, &auth.user, q.unit).await?;
    let query = BreakdownQuery {
        unit,
        by,
        from,
        to,
        utc_offset_minutes,
    };
    let key = format!("breakdown {query:?}");
    let config = state.sync().shared_config();
    let compute = async {
        db.queries()
            .breakdown(query, now(), config)
            .await
            .map(Answer::Rows)
            .map_err(internal)
    };
    let rows = match shared_answer(state.sync(), db, key, compute).await? {
        Answer::Rows(rows) => rows,
        Answer::Kpis(_) => return Err(ApiError::Internal),
    };
    Ok(Json(BreakdownAnswer {
        unit: UnitInfo {
            id: entry.unit.id.to_string(),
            name: entry.unit.name,
            kind: entry.unit.kind.code(),
        },
        by,
        rows,
    }))
}

/// `GET /api/dashboard/freshness`: data freshness of every officer in the caller's unit (the
/// zone: every officer), or in `unit` when a zone leader asks for one.
async fn freshness(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<FreshnessQuery>,
) -> Result<Json<Vec<OfficerFreshness>>, ApiError> {
    require_leader(&auth.user)?;
    let db = state.db();
    let units = match resolve_unit(db, &auth.user, q.unit).await? {
        Unit::Zone => None,
        Unit::Town(id) | Unit::Department(id) => {
            Some(db.directory().org_subtree(id).await.map_err(internal)?)
        }
    };
    let rows = db
        .queries()
        .officer_freshness(units)
        .await
        .map_err(internal)?;
    Ok(Json(rows))
}

/// `GET /api/dashboard/freshness` parameters.
#[derive(Debug, Deserialize)]
pub struct FreshnessQuery {
    /// A town or department; the person's own unit when absent.
    pub unit: Option<OrgUnitId>,
}

/// `GET /api/bulletins`: every issued bulletin, newest first. Bulletins cover the whole zone,
/// so every leader and supervisor reads them all (as `GET /api/bulletins/{id}`).
async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<BulletinSummary>>, ApiError> {
    require_leader(&auth.user)?;
    let rows = state.db().bulletins().list().await.map_err(internal)?;
    Ok(Json(rows))
}

async fn issue(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<Json<Bulletin>, ApiError> {
    if auth.user.role != Role::Leader {
        return Err(ApiError::Forbidden("only a leader issues bulletins".into()));
    }
    // The limit counts the title as sent, so the OpenAPI document's maxLength is the rule.
    if req.title.chars().count() > TITLE_MAX_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a bulletin's title has at most {TITLE_MAX_CHARS} characters"
        )));
    }
    let title = req.title.trim().to_string();
    if title.is_empty() {
        return Err(ApiError::BadRequest("a bulletin needs a title".into()));
    }
    let (from, to) = period(req.from, req.to)?;
    let new = NewBulletin {
        title,
        from,
        to,
        now: now(),
        by: auth.user.id,
        login: auth.user.login.clone(),
        check_in: state.sync().config().check_in.clone(),
    };
    let b = state.db().issue_bulletin(new).await.map_err(internal)?;
    Ok(Json(b))
}

async fn load(state: &AppState, auth: &Authenticated, id: i64) -> Result<Bulletin, ApiError> {
    require_leader(&auth.user)?;
    state
        .db()
        .bulletins()
        .get(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no bulletin {id}")))
}

async fn read(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Bulletin>, ApiError> {
    Ok(Json(load(&state, &auth, id).await?))
}

async fn xlsx(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let b = load(&state, &auth, id).await?;
    let bytes = crate::export::bulletin_xlsx(&b).map_err(|e| {
        tracing::error!(error = %e, "xlsx export failed");
        ApiError::Internal
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bulletin-{id}.xlsx\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

async fn csv(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let b = load(&state, &auth, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bulletin-{id}.csv\""),
            ),
        ],
        crate::export::bulletin_csv(&b),
    )
        .into_response())
}
