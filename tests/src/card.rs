//! Helpers for the 连心卡's tests: a demo enterprise with a problem answered and waiting for
//! the enterprise's word, the demo district served with chosen card limits and trusted
//! proxies ([`CardDemo`]), and reading a QR code back from a PNG screenshot (pure Rust: `png`
//! and `rqrr`).

use std::sync::Arc;

use anyhow::Context as _;
use server::AppState;
use server::card::CardLimits;
use server::demo::DemoDistrict;
use server::http::client_addr::TrustedProxies;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{DocKind, ProblemDoc};
use shared::model::{EnterpriseId, Problem, ProblemState, Role};
use shared::workflow::replay;

/// Every problem of the demo district, as generated.
///
/// # Errors
/// When a document does not read.
pub fn problems(district: &DemoDistrict) -> anyhow::Result<Vec<Problem>> {
    district
        .documents
        .iter()
        .filter(|(id, _)| id.kind() == DocKind::Problem)
        .map(|(_, doc)| Ok(ProblemDoc::from_record(doc.clone())?.read()?))
        .collect()
}

/// The login of an officer assigned to `enterprise` now, if any.
pub fn officer_of(district: &DemoDistrict, enterprise: EnterpriseId) -> Option<String> {
    district
        .assignments
        .iter()
        .filter(|a| a.enterprise == enterprise && a.valid_to.is_none())
        .find_map(|a| {
            district
                .users
                .iter()
                .find(|u| u.user.id == a.user && u.user.role == Role::Officer)
                .map(|u| u.user.login.clone())
        })
}

/// An enterprise with a problem that was answered and waits for the enterprise's
/// confirmation, that problem, and the login of the enterprise's officer.
///
/// # Errors
/// When the demo has none.
pub fn answered(district: &DemoDistrict) -> anyhow::Result<(EnterpriseId, Problem, String)> {
    for p in problems(district)? {
        if replay(&p).state != ProblemState::Responded || p.response.trim().is_empty() {
            continue;
        }
        if let Some(login) = officer_of(district, p.enterprise) {
            return Ok((p.enterprise, p, login));
        }
    }
    anyhow::bail!("the demo has no answered problem of an assigned enterprise")
}

/// The text of every QR code found in a PNG image.
///
/// # Errors
/// When the PNG does not decode.
pub fn read_qr_codes(png_bytes: &[u8]) -> anyhow::Result<Vec<String>> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().context("reading the PNG header")?;
    let mut buf = vec![0; reader.output_buffer_size().context("the PNG's size")?];
    let info = reader.next_frame(&mut buf).context("decoding the PNG")?;
    let samples = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let grey = |x: usize, y: usize| -> u8 {
        let at = y * info.line_size + x * samples;
        match samples {
            1 | 2 => buf[at],
            _ => {
                let sum = u32::from(buf[at]) + u32::from(buf[at + 1]) + u32::from(buf[at + 2]);
                (sum / 3) as u8
            }
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
    Ok(image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect())
}

/// The demo district served with chosen card limits and trusted proxies.
#[derive(Debug)]
pub struct CardDemo {
    /// The running server.
    pub server: crate::TestServer,
    /// Its state (the card service's limiters are read through it).
    pub state: AppState,
    /// Its sync service.
    pub service: Arc<SyncService>,
    /// The district as generated.
    pub district: DemoDistrict,
    /// A client that does not follow redirects (a form's answer is seen as sent).
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// An answer as the browser gets it.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: String,
}

impl Answer {
    /// A header's value, `""` when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl CardDemo {
    /// Seeds the demo district and serves it with `limits` on the card's page, believing
    /// `X-Forwarded-For` from `proxies`.
    ///
    /// # Errors
    /// When the database, the seeding or the port fails.
    pub async fn start(limits: CardLimits, proxies: TrustedProxies) -> anyhow::Result<CardDemo> {
        let dir = tempfile::tempdir()?;
        let service = crate::sync_service(dir.path())?;
        let seeded_at = crate::seed_demo(&service).await?;
        let district = server::demo::generate(seeded_at, &Config::demo())?;
        let state = AppState::new(dir.path().join("no-site"), service.clone())
            .with_card_limits(limits)
            .with_trusted_proxies(proxies);
        let server = crate::TestServer::start(state.clone()).await?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(CardDemo {
            server,
            state,
            service,
            district,
            http,
            _dir: dir,
        })
    }

    /// The card link of the demo's answered enterprise (made by its officer), that
    /// enterprise's answered problem and the officer's login.
    ///
    /// # Errors
    /// When the demo has no such enterprise or the officer's API refuses.
    pub async fn answered_card(&self) -> anyhow::Result<(String, Problem, String)> {
        let (enterprise, problem, officer) = answered(&self.district)?;
        let link = self.card_link(enterprise, &officer).await?;
        Ok((link, problem, officer))
    }

    /// `enterprise`'s card link, as `officer` gets it.
    ///
    /// # Errors
    /// When the login or the card's API refuses.
    pub async fn card_link(
        &self,
        enterprise: EnterpriseId,
        officer: &str,
    ) -> anyhow::Result<String> {
        let bearer = crate::raw::demo_token(&self.server.url(""), officer, 1).await?;
        let card: serde_json::Value = self
            .http
            .get(
                self.server
                    .url(&format!("/api/enterprises/{enterprise}/card")),
            )
            .bearer_auth(bearer)
            .send()
            .await?
            .json()
            .await?;
        Ok(card["link"].as_str().context("a card link")?.to_string())
    }

    /// `GET url`, through a proxy that says the client is `forwarded` (when given).
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn get(&self, url: &str, forwarded: Option<&str>) -> anyhow::Result<Answer> {
        let mut request = self.http.get(url);
        if let Some(client) = forwarded {
            request = request.header("x-forwarded-for", client);
        }
        answer(request.send().await?).await
    }

    /// `POST url` with a form.
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> anyhow::Result<Answer> {
        answer(self.http.post(url).form(form).send().await?).await
    }

    /// `POST /api/login` as `login` with `password` on device `[n; 16]`, through a proxy that
    /// says the client is `forwarded` (when given); the status.
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        n: u8,
        forwarded: Option<&str>,
    ) -> anyhow::Result<u16> {
        let mut request = self
            .http
            .post(self.server.url("/api/login"))
            .json(&serde_json::json!({
                "login": login,
                "password": password,
                "device_id": shared::model::DeviceId::from_random_bytes([n; 16]).to_string(),
                "device_name": "card test device",
            }));
        if let Some(client) = forwarded {
            request = request.header("x-forwarded-for", client);
        }
        Ok(request.send().await?.status().as_u16())
    }
}

async fn answer(response: reqwest::Response) -> anyhow::Result<Answer> {
    Ok(Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await?,
    })
}
