//! The 连心卡 on `lianxin-server serve --db postgres://…` (issue 16), as on SQLite: the same story
//! told to a SQLite demo server and a PostgreSQL one gets the same answers, tokens aside — the
//! officer's card made once, the enterprise's page, printable card and QR code, its rating,
//! confirmation and dispute (303 back to the page, then the page saying so), a confirmation
//! the state no longer allows, a stranger's problem, a bad rating and an unknown operation
//! refused, a problem raised, the card replaced (the old link 410) and revoked,
//! an unknown token and any other path 404. On PostgreSQL the enterprise's word reaches the
//! officer's phone by sync (confirmed then disputed, rated on the enterprise's channel, the raised problem
//! with source self-report, all as the card's device), the changes are audited in the shared
//! database, and a card past its limit answers 429 with `Retry-After` (the limits are each
//! server's, in memory).

use std::net::SocketAddr;
use std::process::Command;

use anyhow::{Context as _, ensure};
use shared::config::Config;
use shared::doc::DocKind;
use shared::model::{EnterpriseId, Problem, ProblemSource, ProblemState, Rating, RatingChannel};
use shared::sync::protocol::DocId;
use shared::workflow::{Action, replay};
use tests::card::answered;
use tests::device::NativeDevice;
use tests::pg::{Throwaway, connect};
use tests::process::{ServerProcess, server_binary};
use tests::raw::demo_token;

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// An answer with the card's token (and the server's origin) replaced, so two servers' answers
/// compare.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    location: String,
    body: String,
}

struct Story {
    base: String,
    http: reqwest::Client,
    tokens: Vec<String>,
}

impl Story {
    fn new(base: &str) -> anyhow::Result<Story> {
        Ok(Story {
            base: base.to_string(),
            // Forms' answers are seen as sent (303), not followed.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            tokens: Vec::new(),
        })
    }

    fn clean(&self, text: &str) -> String {
        let mut text = text.replace(&self.base, "ORIGIN");
        for (n, token) in self.tokens.iter().enumerate() {
            text = text.replace(token, &format!("TOKEN{n}"));
        }
        text
    }

    async fn seen(&self, answer: reqwest::Response) -> anyhow::Result<Seen> {
        let status = answer.status().as_u16();
        let location = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = answer.text().await?;
        Ok(Seen {
            status,
            location: self.clean(&location),
            body: self.clean(&body),
        })
    }

    /// The officer's card route `op` ("" for the card itself) for `enterprise`; the token of
    /// the link it answers, remembered.
    async fn card(
        &mut self,
        bearer: &str,
        enterprise: EnterpriseId,
        op: &str,
    ) -> anyhow::Result<Seen> {
        let url = format!("{}/api/enterprises/{enterprise}/card{op}", self.base);
        let answer = if op.is_empty() {
            self.http.get(url)
        } else {
            self.http.post(url)
        }
        .bearer_auth(bearer)
        .send()
        .await?;
        let status = answer.status().as_u16();
        let mut body: serde_json::Value = answer.json().await.unwrap_or_default();
        if let Some(link) = body["link"].as_str() {
            let token = link.rsplit('/').next().unwrap_or_default().to_string();
            if !self.tokens.contains(&token) {
                self.tokens.push(token);
            }
        }
        if let Some(b) = body.as_object_mut() {
            // When it was made: a moment apart on the two servers.
            b.remove("created_at");
        }
        Ok(Seen {
            status,
            location: String::new(),
            body: self.clean(&body.to_string()),
        })
    }

    fn link(&self, n: usize) -> String {
        format!("{}/k/{}", self.base, self.tokens[n])
    }

    async fn get(&self, url: &str) -> anyhow::Result<Seen> {
        let answer = self.http.get(url).send().await?;
        self.seen(answer).await
    }

    /// [`Story::get`] of a page holding a QR code, which draws the link (so the server's port):
    /// the drawing left out, whether there is one kept.
    async fn get_drawn(&self, url: &str) -> anyhow::Result<Seen> {
        let mut seen = self.get(url).await?;
        while let Some(start) = seen.body.find("<svg") {
            let end = seen.body[start..]
                .find("</svg>")
                .map_or(seen.body.len(), |e| start + e + "</svg>".len());
            seen.body.replace_range(start..end, "[QR]");
        }
        Ok(seen)
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> anyhow::Result<Seen> {
        let answer = self.http.post(url).form(form).send().await?;
        self.seen(answer).await
    }
}

/// The story on one server: every answer, tokens replaced; and the last token.
async fn story(
    base: &str,
    enterprise: EnterpriseId,
    problem: &Problem,
    officer: &str,
) -> anyhow::Result<(Vec<Seen>, String)> {
    let bearer = demo_token(base, officer, 61).await?;
    let mut s = Story::new(base)?;
    let mut seen = vec![
        s.card(&bearer, enterprise, "").await?,
        // Made once: the same link again.
        s.card(&bearer, enterprise, "").await?,
    ];
    ensure!(s.tokens.len() == 1, "one card: {:?}", s.tokens);
    let link = s.link(0);
    seen.push(s.get(&link).await?);
    seen.push(s.get(&format!("{link}?lang=en")).await?);
    seen.push(s.get_drawn(&format!("{link}/card")).await?);
    seen.push(s.get_drawn(&format!("{link}/card?size=a4")).await?);
    seen.push(s.get_drawn(&format!("{link}/qr.svg")).await?);
    let on = |op: &str| format!("{link}/p/{}/{op}", problem.id);
    seen.push(
        s.post(&on("rate"), &[("rating", "4"), ("comment", "答复及时")])
            .await?,
    );
    seen.push(s.post(&on("confirm"), &[]).await?);
    seen.push(s.get(&format!("{link}?done=confirm")).await?);
    // Confirmed: not the enterprise's to confirm again, but still to dispute.
    seen.push(s.post(&on("confirm"), &[]).await?);
    seen.push(s.post(&on("dispute"), &[("reason", "还有问题")]).await?);
    // A problem of no enterprise's, a bad rating, an unknown operation.
    let stranger = shared::model::ProblemId::from_random_bytes([3; 16]);
    seen.push(s.post(&format!("{link}/p/{stranger}/confirm"), &[]).await?);
    seen.push(s.post(&on("rate"), &[("rating", "9")]).await?);
    seen.push(s.post(&on("reopen"), &[]).await?);
    // A raised problem: its id is drawn at random, so only its answer's status and where it
    // sends the browser compare.
    let raised = s
        .post(
            &format!("{link}/problems"),
            &[
                ("category", "power"),
                ("description", "夜间频繁停电"),
                ("expectation", "尽快检修线路"),
            ],
        )
        .await?;
    seen.push(raised);
    seen.push(
        s.post(
            &format!("{link}/problems"),
            &[("category", "power"), ("description", "")],
        )
        .await?,
    );
    seen.push(s.get(&format!("{link}/nothing-here")).await?);
    seen.push(s.get(&format!("{}/k/{}", base, "0".repeat(40))).await?);
    // Replaced: the old link is no longer valid, the new one works.
    seen.push(s.card(&bearer, enterprise, "/rotate").await?);
    ensure!(s.tokens.len() == 2, "a new card: {:?}", s.tokens);
    seen.push(s.get(&link).await?);
    seen.push(s.get(&format!("{link}/qr.svg")).await?);
    let second = s.link(1);
    let page = s.get(&second).await?;
    seen.push(Seen {
        body: String::new(),
        ..page
    });
    // Revoked: no link works until the next one is made.
    seen.push(s.card(&bearer, enterprise, "/revoke").await?);
    seen.push(s.get(&second).await?);
    seen.push(s.card(&bearer, enterprise, "").await?);
    ensure!(s.tokens.len() == 3, "a card made again: {:?}", s.tokens);
    Ok((seen, s.tokens[2].clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_on_postgres_answers_as_on_sqlite_and_reaches_the_officers_phone()
-> anyhow::Result<()> {
    // The demo's ids are drawn from a fixed seed: the same on both servers and here.
    let district = server::demo::generate(server::auth::now(), &Config::demo())?;
    let (enterprise, problem, officer) = answered(&district)?;

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lianxin.db");
    let seeded = Command::new(server_binary()?)
        .args(["demo", "--db"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .env_remove("LIANXIN_DB")
        .output()?;
    ensure!(
        seeded.status.success(),
        "demo on SQLite failed: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let sqlite = ServerProcess::start(&file, any_port())?;
    let (on_sqlite, _) = story(&sqlite.url(), enterprise, &problem, &officer).await?;
    drop(sqlite);

    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let server = ServerProcess::start_postgres(&url, any_port(), true, cwd.path())?;
    let base = server.url();
    let (on_postgres, token) = story(&base, enterprise, &problem, &officer).await?;
    for (n, (pg, lite)) in on_postgres.iter().zip(&on_sqlite).enumerate() {
        assert_eq!(pg, lite, "answer {n}: PostgreSQL, then SQLite");
    }
    assert_eq!(on_postgres.len(), on_sqlite.len());
    let statuses: Vec<u16> = on_postgres.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            200, 200, 200, 200, 200, 200, 200, 303, 303, 200, 400, 303, 404, 400, 404, 303, 400,
            404, 404, 200, 410, 410, 200, 204, 410, 200
        ]
    );

    // The enterprise's word reaches the officer's phone by sync, as the card's.
    let password = server::demo::DEMO_PASSWORD;
    let mut phone = NativeDevice::logged_in(5, &base, &officer, password).await?;
    phone.sync().await?;
    let card_device = server::writer::card_device();
    let on_phone = phone.problem(&DocId::new(DocKind::Problem, &problem.id.to_string()))?;
    ensure!(
        replay(&on_phone).state == ProblemState::Disputed,
        "{:?}",
        replay(&on_phone).state
    );
    let by_card = |action: Action, reason: &str| {
        on_phone
            .events
            .iter()
            .any(|e| e.action == action && e.reason == reason && e.stamp.device == card_device)
    };
    ensure!(
        by_card(Action::Confirm, "") && by_card(Action::Dispute, "还有问题"),
        "{:?}",
        on_phone.events
    );
    let rating = on_phone.rating.clone().context("rated")?;
    ensure!(
        (rating.rating, rating.channel, rating.comment.as_str())
            == (Rating::Satisfied, RatingChannel::Enterprise, "答复及时")
            && rating.stamp.device == card_device,
        "{rating:?}"
    );
    let raised: Vec<Problem> = phone
        .problems()?
        .into_iter()
        .filter(|p| p.enterprise == enterprise && p.description == "夜间频繁停电")
        .collect();
    ensure!(raised.len() == 1, "{raised:?}");
    ensure!(
        raised[0].source == ProblemSource::SelfReport && raised[0].created.device == card_device
    );

    // Audited in the database the servers share.
    let db = connect(&url).await?;
    let entries: Vec<(String, String)> = db
        .query(
            "SELECT actor, detail FROM audit_log WHERE action = 'card_changed' ORDER BY seq",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        entries,
        [
            (officer.clone(), "replaced".to_string()),
            (officer.clone(), "revoked".to_string())
        ]
    );

    // A card past its limit (60 in 10 minutes on this server, in memory) answers 429.
    let link = format!("{base}/k/{token}/qr.svg");
    let http = reqwest::Client::new();
    let mut last = None;
    for _ in 0..61 {
        let answer = http.get(&link).send().await?;
        last = Some((
            answer.status().as_u16(),
            answer.headers().contains_key("retry-after"),
        ));
    }
    assert_eq!(last, Some((429, true)));
    Ok(())
}
