//! The 连心卡 (the enterprise's card) on the server: card tokens (capability links), the
//! bounded work behind the enterprise's public page, and what the enterprise does there —
//! confirm, dispute, rate, raise a new problem — written to the problem documents on its
//! behalf by the card's system identity ([`crate::writer::card_actor`]) through the sync
//! engine, like any device's edit, so officers' phones receive it by sync.
//!
//! **Invariant:** a public request does a bounded amount of work and cannot take what
//! officers' syncs need. Its body is capped; it is counted against its client's address
//! ([`crate::http::client_addr`]) before anything else, and against its card only once the
//! token is found to be a live card (a made-up token costs its address, never a new key
//! per token); the limiters keep a bounded number of keys ([`CardLimits::max_keys`]). All
//! its store and CPU work happens in a [`Turn`]: at most [`WORK_SLOTS`] card requests work
//! at once (one blocking thread and short holds of the store lock; never a merge slot), at
//! most [`QUEUE`] wait for a turn, and any beyond answer "busy" at once; one writes at a time
//! (which also keeps the card's one Automerge actor from making two changes with one
//! sequence number); a page reads at most [`MAX_PROBLEMS`] problems.

pub mod page;
pub mod qr;

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use shared::config::Config;
use shared::derive::initial_deadline;
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{
    EnterpriseId, EntryId, Problem, ProblemClass, ProblemId, ProblemSource, Rating, RatingChannel,
    Tier, Timestamp,
};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use shared::workflow::{Action, check};
use tokio::sync::{Mutex, Semaphore, SemaphorePermit};

use crate::auth::RateLimiter;
use crate::store::{CardFace, CardLookup, LiveCard, StoreError, StoreHold};
use crate::sync::SyncService;
use crate::writer::{card_actor, commit_documents, system_actor_id};

/// Most problems a card's page shows (the most recently changed).
pub const MAX_PROBLEMS: usize = 30;

/// Card requests working (reading the store, loading problems, writing, drawing a QR code)
/// at once: one, so the public page never takes more than one core or one blocking thread.
pub const WORK_SLOTS: usize = 1;

/// Card requests waiting for a turn at once; any beyond are answered "busy" without waiting.
pub const QUEUE: usize = 8;

/// What a "busy" answer tells the browser to wait, in seconds (`Retry-After`).
pub const BUSY_RETRY_AFTER_S: u64 = 2;

/// Longest text the page accepts in a field (characters).
pub const MAX_TEXT: usize = 1000;

/// Largest form body a card's page accepts, in bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// How long a card request waits for its turn before answering "busy".
const WAIT: Duration = Duration::from_secs(2);

/// Bytes of randomness in a card token (160 bits), written as 40 hex digits.
const TOKEN_BYTES: usize = 20;

/// How many requests a card link and a client address may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardLimits {
    /// Requests per card token within the window (60).
    pub per_token: usize,
    /// Requests per client address within the window, whatever the token (300: a factory's
    /// phones may share one address).
    pub per_address: usize,
    /// The window, ms (10 min).
    pub window_ms: i64,
    /// Addresses, and cards, each limiter keeps at most (the least recently seen is
    /// forgotten first): 4,096 (at worst about 10 MB of timestamps for the addresses).
    pub max_keys: usize,
}

impl Default for CardLimits {
    fn default() -> Self {
        CardLimits {
            per_token: 60,
            per_address: 300,
            window_ms: 10 * 60 * 1000,
            max_keys: 4096,
        }
    }
}

/// The card service: rate limiters and the turns of the public page's work.
#[derive(Debug)]
pub struct CardService {
    per_token: RateLimiter,
    per_address: RateLimiter,
    queue: Semaphore,
    work: Semaphore,
    writes: Mutex<()>,
}

/// A card request's turn to work ([`CardService::turn`]); the next waiting request gets it
/// when this is dropped.
#[derive(Debug)]
pub struct Turn<'a> {
    _working: SemaphorePermit<'a>,
    _queued: SemaphorePermit<'a>,
}

impl Default for CardService {
    fn default() -> Self {
        CardService::new(CardLimits::default())
    }
}

/// Why a public card request was not served.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The token or the address made too many requests; it may try again after this many
    /// seconds.
    #[error("too many requests")]
    Limited(u64),
    /// Other card requests hold the turns; try again in [`BUSY_RETRY_AFTER_S`].
    #[error("busy")]
    Busy,
    /// The token is of a card that was replaced or revoked.
    #[error("the card is no longer valid")]
    Retired,
    /// No card has this token.
    #[error("no such card")]
    Unknown,
    /// The problem is not this enterprise's (or does not exist).
    #[error("no such problem")]
    NoProblem,
    /// The body is over [`MAX_BODY`].
    #[error("too large")]
    TooLarge,
    /// The form is wrong; the text says why (shown to the enterprise).
    #[error("{0}")]
    Invalid(&'static str),
    /// The enterprise has no officer to own a new problem.
    #[error("no officer assigned")]
    NoOfficer,
    /// The store or the engine failed (logged, never shown).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for CardError {
    fn from(e: StoreError) -> Self {
        CardError::Internal(e.to_string())
    }
}

/// A new card token and its SHA-256.
pub fn new_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let token = crate::auth::token::hex(&bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The stored key of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `token` has a token's shape (40 lower-case hex digits): anything else is unknown
/// without a look-up.
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What the enterprise asks for on its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRequest {
    /// 确认已解决.
    Confirm(ProblemId),
    /// 有异议, with the reason.
    Dispute(ProblemId, String),
    /// 评价, on the five-level scale, with a comment.
    Rate(ProblemId, Rating, String),
    /// 反映新问题 (source: self-report).
    Raise {
        /// A configured category code.
        category: String,
        /// What the problem is.
        description: String,
        /// What the enterprise expects.
        expectation: String,
    },
}

/// One problem as the enterprise's page shows it: nothing internal (no progress notes,
/// supervision, event reasons or staff names).
#[derive(Debug, Clone)]
pub struct CardProblem {
    /// The problem.
    pub problem: Problem,
    /// Its state, effective deadline (replayed).
    pub outcome: shared::workflow::Outcome,
    /// The enterprise may confirm it now.
    pub may_confirm: bool,
    /// The enterprise may dispute it now.
    pub may_dispute: bool,
    /// The enterprise may rate it (it was answered).
    pub may_rate: bool,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct CardView {
    /// Whose card it is.
    pub enterprise: EnterpriseId,
    /// Its name and officers.
    pub face: CardFace,
    /// Its problems, most recently changed first.
    pub problems: Vec<CardProblem>,
}

impl CardService {
    /// A service with these limits.
    pub fn new(limits: CardLimits) -> CardService {
        CardService {
            per_token: RateLimiter::bounded(limits.per_token, limits.window_ms, limits.max_keys),
            per_address: RateLimiter::bounded(
                limits.per_address,
                limits.window_ms,
                limits.max_keys,
            ),
            queue: Semaphore::new(QUEUE + WORK_SLOTS),
            work: Semaphore::new(WORK_SLOTS),
            writes: Mutex::new(()),
        }
    }

    /// How many addresses and how many cards the limiters keep now.
    pub fn tracked(&self) -> (usize, usize) {
        (self.per_address.len(), self.per_token.len())
    }

    /// Admits a public request for `token` from `addr` at `now`: counts it against the
    /// address, waits for a turn, finds the token's live card and counts it against the card.
    /// `Err(Limited)` when the address or the card is over its limit, `Err(Busy)` when no
    /// turn comes, `Err(Unknown | Retired)` for a token of no live card.
    pub async fn admit(
        &self,
        sync: &Arc<SyncService>,
        token: &str,
        addr: Option<std::net::IpAddr>,
        now: i64,
    ) -> Result<(Turn<'_>, EnterpriseId), CardError> {
        self.admit_address(addr, now)?;
        if !well_formed(token) {
            return Err(CardError::Unknown);
        }
        let turn = self.turn().await?;
        let enterprise = self.resolve(&turn, sync, token).await?;
        self.admit_card(token, now)?;
        Ok((turn, enterprise))
    }

    /// Counts a request from `addr` at `now` (a request with no address, which a served
    /// connection always has, is counted by its card only).
    pub fn admit_address(&self, addr: Option<std::net::IpAddr>, now: i64) -> Result<(), CardError> {
        match addr {
            Some(_) => self
                .per_address
                .attempt(&[&crate::http::client_addr::limit_key(addr)], now)
                .map_err(limited),
            None => Ok(()),
        }
    }

    /// Counts a request for the live card of `token` at `now`.
    pub fn admit_card(&self, token: &str, now: i64) -> Result<(), CardError> {
        // Keyed by a prefix of the hash: the limiter never holds a token.
        let key = format!("card:{}", crate::auth::token::hex(&token_hash(token)[..12]));
        self.per_token.attempt(&[&key], now).map_err(limited)
    }

    /// A turn to work: at once if no other card request works, after the requests waiting
    /// before it (at most [`WAIT`]), or `Err(Busy)` at once when [`QUEUE`] already wait.
    pub async fn turn(&self) -> Result<Turn<'_>, CardError> {
        let queued = self.queue.try_acquire().map_err(|_| CardError::Busy)?;
        let working = tokio::time::timeout(WAIT, self.work.acquire())
            .await
            .map_err(|_| CardError::Busy)?
            .map_err(|_| CardError::Busy)?;
        Ok(Turn {
            _working: working,
            _queued: queued,
        })
    }

    /// Which enterprise's live card `token` is.
    pub async fn resolve(
        &self,
        _turn: &Turn<'_>,
        sync: &Arc<SyncService>,
        token: &str,
    ) -> Result<EnterpriseId, CardError> {
        if !well_formed(token) {
            return Err(CardError::Unknown);
        }
        let found = sync.db().cards().card_lookup(token_hash(token)).await?;
        match found {
            CardLookup::Live(e) => Ok(e),
            CardLookup::Retired => Err(CardError::Retired),
            CardLookup::Unknown => Err(CardError::Unknown),
        }
    }

    /// What the page of `enterprise`'s card shows at `now`: its face and its problems (their
    /// stored bytes read from the database, loaded on a blocking thread).
    pub async fn view(
        &self,
        _turn: &Turn<'_>,
        sync: &Arc<SyncService>,
        enterprise: EnterpriseId,
        now: Timestamp,
    ) -> Result<CardView, CardError> {
        let cards = sync.db().cards();
        let face = cards
            .card_face(enterprise, now)
            .await?
            .ok_or(CardError::Unknown)?;
        let docs = cards.card_problems(enterprise, MAX_PROBLEMS).await?;
        let problems = tokio::task::spawn_blocking(move || {
            docs.into_iter()
                .filter_map(|(id, bytes)| {
                    let read = ProblemDoc::load(&bytes, system_actor_id()).and_then(|d| d.read());
                    match read {
                        Ok(p) if p.enterprise == enterprise => Some(card_problem(p)),
                        Ok(_) => None,
                        Err(error) => {
                            tracing::warn!(doc = %id, %error, "a stored problem does not read");
                            None
                        }
                    }
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| CardError::Internal(e.to_string()))?;
        Ok(CardView {
            enterprise,
            face,
            problems,
        })
    }

    /// Carries out what the enterprise asked on its card's page, as changes by the card's
    /// system identity committed through the sync engine ([`write`] on SQLite, [`write_pg`]
    /// on PostgreSQL: the same rules); announces them to devices.
    pub async fn act(
        &self,
        _turn: &Turn<'_>,
        sync: &Arc<SyncService>,
        enterprise: EnterpriseId,
        request: CardRequest,
        now: Timestamp,
    ) -> Result<(), CardError> {
        // One configuration from the check to the write.
        let config = sync.config();
        validate(&request, &config)?;
        let _writing = tokio::time::timeout(WAIT, self.writes.lock())
            .await
            .map_err(|_| CardError::Busy)?;
        let seq = match sync.db().postgres_db() {
            Some(db) => write_pg(db, enterprise, request, config, now).await?,
            None => sync
                .db()
                .holds(move |lock| write(lock, enterprise, &request, &config, now))
                .await
                .ok_or_else(|| CardError::Internal("the store thread stopped".into()))??,
        };
        sync.announce(seq);
        Ok(())
    }

    /// The enterprise's live card, made (by `by`) if it has none yet.
    pub async fn live_or_mint(
        sync: &Arc<SyncService>,
        enterprise: EnterpriseId,
        by: shared::model::UserId,
        now: Timestamp,
    ) -> Result<LiveCard, StoreError> {
        sync.db()
            .cards()
            .live_or_mint(enterprise, new_token(), by, now)
            .await
    }
}

/// The refusal of a request over a limit, with the seconds to wait (rounded up).
fn limited(retry_after_ms: i64) -> CardError {
    let ms = u64::try_from(retry_after_ms).unwrap_or(0);
    CardError::Limited(ms.div_ceil(1000).max(1))
}

/// Carries out `request` for `enterprise` in short holds of the store: the stored problem is
/// read in one, edited between holds, and committed through the sync engine (`handle_sync`,
/// which merges it with whatever was stored meanwhile) in another; returns the feed's
/// sequence after the commit.
pub fn write(
    mut store: impl StoreHold,
    enterprise: EnterpriseId,
    request: &CardRequest,
    config: &Config,
    now: Timestamp,
) -> Result<u64, CardError> {
    let facts = match request {
        CardRequest::Raise { .. } => Facts::Owner(
            store
                .hold(|s| s.assigned_officer(enterprise, now))?
                .ok_or(CardError::NoOfficer)?,
        ),
        CardRequest::Confirm(id) | CardRequest::Dispute(id, _) | CardRequest::Rate(id, _, _) => {
            let doc_id = DocId::new(DocKind::Problem, &id.to_string());
            Facts::Stored(store.hold(|s| s.load_doc(&doc_id))?)
        }
    };
    let mut docs = vec![written(enterprise, request, facts, config, now)?];
    store.hold(|s| {
        commit_documents(s, &mut docs, config, now)
            .map_err(|e| CardError::Internal(e.to_string()))?;
        Ok(s.latest_seq()?)
    })
}

/// [`write`] on PostgreSQL: the stored problem (or the enterprise's officer) read from the
/// database, the same edit ([`written`]), committed through the sync store's commit path
/// (`pg::handle_sync`, which merges again when another server moved the problem meanwhile).
pub async fn write_pg(
    db: &crate::pg::PgDb,
    enterprise: EnterpriseId,
    request: CardRequest,
    config: std::sync::Arc<Config>,
    now: Timestamp,
) -> Result<u64, CardError> {
    let facts = match &request {
        CardRequest::Raise { .. } => Facts::Owner(
            db.assigned_officer(enterprise, now)
                .await?
                .ok_or(CardError::NoOfficer)?,
        ),
        CardRequest::Confirm(id) | CardRequest::Dispute(id, _) | CardRequest::Rate(id, _, _) => {
            let doc_id = DocId::new(DocKind::Problem, &id.to_string());
            Facts::Stored(db.card_problem(doc_id).await?)
        }
    };
    let edit_config = config.clone();
    let docs = tokio::task::spawn_blocking(move || {
        written(enterprise, &request, facts, &edit_config, now).map(|d| vec![d])
    })
    .await
    .map_err(|e| CardError::Internal(e.to_string()))??;
    Ok(db.commit_card_write(docs, (*config).clone(), now).await?)
}

/// What a card's write is made from: the enterprise's officer (a new problem's owner) or the
/// stored problem it edits.
enum Facts {
    Owner(shared::model::UserId),
    Stored(Option<shared::sync::server::StoredDoc>),
}

/// The document `request` writes for `enterprise`, from `facts`: a new problem, or the stored
/// one (the enterprise's, else `NoProblem`) edited. The one rule of both backends.
fn written(
    enterprise: EnterpriseId,
    request: &CardRequest,
    facts: Facts,
    config: &Config,
    now: Timestamp,
) -> Result<(DocId, shared::doc::RecordDoc), CardError> {
    let (doc_id, doc) = match (request, facts) {
        (
            CardRequest::Raise {
                category,
                description,
                expectation,
            },
            Facts::Owner(owner),
        ) => {
            let id = ProblemId::from_random_bytes(crate::auth::token::random_id_bytes());
            let tier = Tier::Department;
            let new = NewProblem {
                id,
                enterprise,
                visit: None,
                source: ProblemSource::SelfReport,
                category: category.clone(),
                class: ProblemClass::B,
                tier,
                owner,
                leader: None,
                deadline: initial_deadline(config, tier, now),
                description: description.trim().to_string(),
                expectation: expectation.trim().to_string(),
            };
            let doc = ProblemDoc::create(&new, config, &card_actor(), system_actor_id(), now)
                .map_err(|e| CardError::Internal(e.to_string()))?;
            (DocId::new(DocKind::Problem, &id.to_string()), doc)
        }
        (
            CardRequest::Confirm(id) | CardRequest::Dispute(id, _) | CardRequest::Rate(id, _, _),
            Facts::Stored(stored),
        ) => {
            let doc_id = DocId::new(DocKind::Problem, &id.to_string());
            let stored = stored
                .filter(|d| d.enterprise == enterprise)
                .ok_or(CardError::NoProblem)?;
            let mut doc = ProblemDoc::load(&stored.bytes, system_actor_id())
                .map_err(|e| CardError::Internal(e.to_string()))?;
            edit(&mut doc, request, config, now)?;
            (doc_id, doc)
        }
        _ => return Err(CardError::Internal("a card write without its facts".into())),
    };
    Ok((doc_id, doc.into_record()))
}

/// Checks a request's texts and choices before anything is loaded.
fn validate(request: &CardRequest, config: &Config) -> Result<(), CardError> {
    let long = |t: &str| t.chars().count() > MAX_TEXT;
    match request {
        CardRequest::Confirm(_) => Ok(()),
        CardRequest::Dispute(_, reason) if reason.trim().is_empty() => {
            Err(CardError::Invalid("请写明异议的理由"))
        }
        CardRequest::Dispute(_, t) | CardRequest::Rate(_, _, t) if long(t) => {
            Err(CardError::Invalid("文字过长"))
        }
        CardRequest::Dispute(..) | CardRequest::Rate(..) => Ok(()),
        CardRequest::Raise { category, .. } if config.category(category).is_none() => {
            Err(CardError::Invalid("请选择问题类别"))
        }
        CardRequest::Raise { description, .. } if description.trim().is_empty() => {
            Err(CardError::Invalid("请描述遇到的问题"))
        }
        CardRequest::Raise {
            description,
            expectation,
            ..
        } if long(description) || long(expectation) => Err(CardError::Invalid("文字过长")),
        CardRequest::Raise { .. } => Ok(()),
    }
}

/// Applies a request on an existing problem (the guard decides whether the state allows it).
fn edit(
    doc: &mut ProblemDoc,
    request: &CardRequest,
    config: &Config,
    now: Timestamp,
) -> Result<(), CardError> {
    let actor = card_actor();
    let event = || EntryId::from_random_bytes(crate::auth::token::random_id_bytes());
    let refused = |_| CardError::Invalid("这个问题现在不能这样处理，请刷新页面");
    match request {
        CardRequest::Confirm(_) => {
            doc.act(&actor, now, event(), Action::Confirm, "")
                .map_err(refused)?;
        }
        CardRequest::Dispute(_, reason) => {
            doc.act(&actor, now, event(), Action::Dispute, reason.trim())
                .map_err(refused)?;
        }
        CardRequest::Rate(_, rating, comment) => {
            let problem = doc.read().map_err(|e| CardError::Internal(e.to_string()))?;
            if !ratable(&problem) {
                return Err(CardError::Invalid("问题答复后才能评价"));
            }
            // Through `rate`, like a device's: a bad rating also reopens the problem.
            doc.rate(
                config,
                &actor,
                now,
                event(),
                *rating,
                comment.trim(),
                RatingChannel::Enterprise,
            )
            .map_err(|e| CardError::Internal(e.to_string()))?;
        }
        CardRequest::Raise { .. } => {}
    }
    Ok(())
}

/// Whether the enterprise may rate the problem: it has been answered.
fn ratable(problem: &Problem) -> bool {
    !problem.response.trim().is_empty()
}

fn card_problem(problem: Problem) -> CardProblem {
    let outcome = shared::workflow::replay(&problem);
    let allowed = |action: &Action, reason: &str| check(&problem, action, reason).is_ok();
    CardProblem {
        may_confirm: allowed(&Action::Confirm, ""),
        may_dispute: allowed(&Action::Dispute, "-"),
        may_rate: ratable(&problem),
        outcome,
        problem,
    }
}

#[cfg(test)]
mod tests;
