//! The 连心卡's public side, under `/k/{token}` (no account: the token is the capability):
//! the enterprise's page, its forms (confirm, dispute, rate, raise a problem), the printable
//! card and its QR code — plain HTML, no script, bodies capped, every request counted per
//! address before the store is touched and per card once found, and worked on in turns
//! ([`crate::card`]); over a limit 429, out of turns 503, both with `Retry-After`. A token
//! that was replaced or revoked answers 410 and an unknown one (or any other path under
//! `/k/`) 404, both with a plain page and the hotline. Every response under `/k/` carries
//! the card's own headers ([`CARD_HEADERS`]): a policy allowing no script, no framing and
//! forms to this origin only, no referrer (the token is in the URL), no caching. The
//! officers' side is [`super::card`].

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::HeaderValue;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use serde::Deserialize;
use shared::model::{ProblemId, Rating};
use tower_http::set_header::SetResponseHeaderLayer;

use super::card::{card_link, origin};
use super::client_addr::ClientAddr;
use crate::AppState;
use crate::auth::now;
use crate::card::page::{self, Done, Lang, Paper};
use crate::card::{CardError, CardRequest, qr};

/// The card pages' Content-Security-Policy: nothing but their own inline styles, `data:`
/// images (the page's empty icon), forms posting to this origin, and no framing; no script
/// at all.
pub const CARD_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                            form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers of every response under `/k/`, whatever produced it (a page, a refusal, a
/// redirect, the framework's own 405).
pub const CARD_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CARD_CSP),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// The public routes, at the root (beside the site).
pub fn router() -> Router<AppState> {
    let router = Router::new()
        .route("/k/{token}", get(enterprise_page))
        .route("/k/{token}/p/{problem}/{op}", post(problem_action))
        .route("/k/{token}/problems", post(raise))
        .route("/k/{token}/card", get(printable))
        .route("/k/{token}/qr.svg", get(qr_code))
        .route("/k/{token}/{*rest}", any(no_such_page))
        .layer(DefaultBodyLimit::max(crate::card::MAX_BODY));
    CARD_HEADERS
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::overriding(
                name,
                HeaderValue::from_static(value),
            ))
        })
}

/// `lang` and `done` of the public page.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// `en` for English; Chinese otherwise.
    pub lang: Option<String>,
    /// What the enterprise just did (`confirm`, `dispute`, `rate`, `raise`).
    pub done: Option<String>,
    /// The card's paper: `a6` (default) or `a4`.
    pub size: Option<String>,
}

/// The fields of the problem forms.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// A dispute's reason.
    pub reason: Option<String>,
    /// A rating, `1`–`5`.
    pub rating: Option<String>,
    /// A rating's comment.
    pub comment: Option<String>,
}

/// The fields of the new-problem form.
#[derive(Debug, Default, Deserialize)]
pub struct RaiseForm {
    /// A configured category code.
    pub category: Option<String>,
    /// What the problem is.
    pub description: Option<String>,
    /// What the enterprise expects.
    pub expectation: Option<String>,
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `html` with `Retry-After: seconds`.
fn retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The page answering a refused public request: never an error trace.
fn refusal(e: CardError, lang: Lang, hotline: &str) -> Response {
    let message = |status, zh, en| {
        html(
            status,
            page::message(lang, lang_t(lang, zh, en), "", hotline),
        )
    };
    match e {
        CardError::Retired => html(StatusCode::GONE, page::invalid(lang, hotline)),
        CardError::Unknown => html(StatusCode::NOT_FOUND, page::invalid(lang, hotline)),
        CardError::Limited(seconds) => retry_after(
            message(
                StatusCode::TOO_MANY_REQUESTS,
                "请求过于频繁，请稍后再试",
                "Too many requests: please try again later",
            ),
            seconds,
        ),
        CardError::Busy => retry_after(
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                "系统繁忙，请稍后再试",
                "The service is busy: please try again shortly",
            ),
            crate::card::BUSY_RETRY_AFTER_S,
        ),
        CardError::NoProblem => message(
            StatusCode::NOT_FOUND,
            "没有找到这个问题",
            "This problem was not found",
        ),
        CardError::TooLarge => message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "内容过长，请精简后再提交",
            "Too long: please shorten it",
        ),
        CardError::Invalid(why) => html(
            StatusCode::BAD_REQUEST,
            page::message(lang, lang_t(lang, "未能提交", "Not sent"), why, hotline),
        ),
        CardError::NoOfficer => message(
            StatusCode::CONFLICT,
            "暂未安排包联干部，请拨打服务热线反映问题",
            "No officer is assigned yet: please call the hotline",
        ),
        CardError::Internal(error) => {
            tracing::error!(%error, "card request failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "系统暂时无法处理，请稍后再试或拨打服务热线",
                "The service could not answer: try again later or call the hotline",
            )
        }
    }
}

fn lang_t<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// Why a form could not be read: over the body cap, or not the form.
fn form_error(rejection: FormRejection) -> CardError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        CardError::TooLarge
    } else {
        CardError::Invalid("表单内容有误")
    }
}

/// Any other path under a card's link: a plain 404 with the hotline.
async fn no_such_page(State(state): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let lang = Lang::from_param(q.lang.as_deref());
    html(
        StatusCode::NOT_FOUND,
        page::message(
            lang,
            lang_t(lang, "没有这个页面", "No such page"),
            "",
            &state.sync().config().hotline,
        ),
    )
}

async fn enterprise_page(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang = Lang::from_param(q.lang.as_deref());
    let sync = state.sync().clone();
    let config = sync.config();
    let at = now();
    let result = async {
        let (turn, enterprise) = state.card().admit(&sync, &token, addr, at.0).await?;
        state.card().view(&turn, &sync, enterprise, at).await
    }
    .await;
    match result {
        Ok(view) => html(
            StatusCode::OK,
            page::enterprise_page(
                &view,
                &token,
                lang,
                &config,
                Done::from_param(q.done.as_deref()),
            ),
        ),
        Err(e) => refusal(e, lang, &config.hotline),
    }
}

async fn act(
    state: &AppState,
    addr: Option<std::net::IpAddr>,
    token: &str,
    lang: Lang,
    request: Result<CardRequest, CardError>,
    done: Done,
) -> Response {
    let sync = state.sync().clone();
    let at = now();
    let result = async {
        let (turn, enterprise) = state.card().admit(&sync, token, addr, at.0).await?;
        state
            .card()
            .act(&turn, &sync, enterprise, request?, at)
            .await
    }
    .await;
    match result {
        Ok(()) => {
            let lang = match lang {
                Lang::Zh => "",
                Lang::En => "&lang=en",
            };
            Redirect::to(&format!("/k/{token}?done={}{lang}#done", done.code())).into_response()
        }
        Err(e) => refusal(e, lang, &sync.config().hotline),
    }
}

async fn problem_action(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path((token, problem, op)): Path<(String, String, String)>,
    Query(q): Query<PageQuery>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let lang = Lang::from_param(q.lang.as_deref());
    let form = form.map(|Form(f)| f).map_err(form_error);
    let request = |form: ActionForm| -> Result<(CardRequest, Done), CardError> {
        let id = ProblemId::parse(&problem).map_err(|_| CardError::NoProblem)?;
        match op.as_str() {
            "confirm" => Ok((CardRequest::Confirm(id), Done::Confirm)),
            "dispute" => Ok((
                CardRequest::Dispute(id, form.reason.unwrap_or_default()),
                Done::Dispute,
            )),
            "rate" => {
                let rating = form
                    .rating
                    .as_deref()
                    .and_then(|r| Rating::from_code(r).ok())
                    .ok_or(CardError::Invalid("请选择评价等级"))?;
                Ok((
                    CardRequest::Rate(id, rating, form.comment.unwrap_or_default()),
                    Done::Rate,
                ))
            }
            _ => Err(CardError::NoProblem),
        }
    };
    let parsed = form.and_then(request);
    let done = parsed.as_ref().map_or(Done::Confirm, |(_, d)| *d);
    act(&state, addr, &token, lang, parsed.map(|(r, _)| r), done).await
}

async fn raise(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
    form: Result<Form<RaiseForm>, FormRejection>,
) -> Response {
    let lang = Lang::from_param(q.lang.as_deref());
    let request = form
        .map(|Form(f)| CardRequest::Raise {
            category: f.category.unwrap_or_default(),
            description: f.description.unwrap_or_default(),
            expectation: f.expectation.unwrap_or_default(),
        })
        .map_err(form_error);
    act(&state, addr, &token, lang, request, Done::Raise).await
}

async fn printable(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang = Lang::from_param(q.lang.as_deref());
    let sync = state.sync().clone();
    let config = sync.config();
    let at = now();
    let result = async {
        let (_turn, enterprise) = state.card().admit(&sync, &token, addr, at.0).await?;
        let face = sync
            .db()
            .cards()
            .card_face(enterprise, at)
            .await?
            .ok_or(CardError::Unknown)?;
        // Drawn within the turn: a QR code is CPU work too.
        let link = card_link(&origin(&headers), &token);
        let svg = qr::inline_svg(&link).unwrap_or_default();
        let paper = Paper::from_param(q.size.as_deref());
        Ok::<_, CardError>(page::printable_card(
            &face,
            &link,
            &svg,
            &config.hotline,
            paper,
            lang,
        ))
    }
    .await;
    match result {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => refusal(e, lang, &config.hotline),
    }
}

async fn qr_code(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let sync = state.sync().clone();
    let at = now();
    match state.card().admit(&sync, &token, addr, at.0).await {
        // Drawn within the turn: a QR code is CPU work too.
        Ok((_turn, _)) => match qr::svg(&card_link(&origin(&headers), &token)) {
            Some(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(e) => refusal(e, Lang::Zh, &sync.config().hotline),
    }
}
