//! The 连心卡 over HTTP, on the seeded demo district: an officer gets their enterprise's card
//! link (made once, a 160-bit token) and replaces or revokes it; a replaced, revoked or unknown
//! link answers the plain "no longer valid" page with the hotline (410 / 404), never an error
//! trace; the enterprise's page shows its own problems and nothing internal; what it does there
//! (confirm, dispute, rate, raise) reaches the problem documents as the card's system identity
//! with the enterprise's channel, and the officer's device receives it by sync; a second
//! rating counts and both stay in the field's history; floods answer 429 per token and per
//! address without touching other cards, and bodies are capped.

use std::collections::BTreeSet;

use anyhow::{Context as _, ensure};
use server::AppState;
use server::card::CardLimits;
use server::demo::{DEMO_PASSWORD, DemoDistrict};
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::history::field_history;
use shared::doc::{DocKind, ProblemDoc};
use shared::model::{
    EnterpriseId, Problem, ProblemSource, ProblemState, Rating, RatingChannel, Role,
};
use shared::sync::protocol::DocId;
use shared::workflow::{Action, replay};
use tests::TestServer;
use tests::card::{answered, officer_of, problems};
use tests::device::NativeDevice;
use tests::raw::demo_token;

/// The demo district served with `limits` on the card's page.
struct Demo {
    server: TestServer,
    service: std::sync::Arc<SyncService>,
    district: DemoDistrict,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A page as the enterprise's browser gets it.
struct Page {
    status: u16,
    body: String,
}

impl Demo {
    async fn start(limits: CardLimits) -> anyhow::Result<Demo> {
        let dir = tempfile::tempdir()?;
        let service = tests::sync_service(dir.path())?;
        let seeded_at = tests::seed_demo(&service).await?;
        let district = server::demo::generate(seeded_at, &Config::default())?;
        let state =
            AppState::new(dir.path().join("no-site"), service.clone()).with_card_limits(limits);
        let server = TestServer::start(state).await?;
        Ok(Demo {
            server,
            service,
            district,
            http: reqwest::Client::new(),
            _dir: dir,
        })
    }

    fn login_of(&self, role: Role) -> anyhow::Result<String> {
        self.district
            .users
            .iter()
            .find(|u| u.user.role == role)
            .map(|u| u.user.login.clone())
            .context("a demo user of that role")
    }

    async fn token(&self, login: &str, n: u8) -> anyhow::Result<String> {
        demo_token(&self.server.url(""), login, n).await
    }

    async fn card(
        &self,
        bearer: &str,
        enterprise: EnterpriseId,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let resp = self
            .http
            .get(
                self.server
                    .url(&format!("/api/enterprises/{enterprise}/card")),
            )
            .bearer_auth(bearer)
            .send()
            .await?;
        Ok((
            resp.status().as_u16(),
            resp.json().await.unwrap_or_default(),
        ))
    }

    async fn rotate(
        &self,
        bearer: &str,
        enterprise: EnterpriseId,
        op: &str,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let resp = self
            .http
            .post(
                self.server
                    .url(&format!("/api/enterprises/{enterprise}/card/{op}")),
            )
            .bearer_auth(bearer)
            .send()
            .await?;
        Ok((
            resp.status().as_u16(),
            resp.json().await.unwrap_or_default(),
        ))
    }

    async fn get(&self, url: &str) -> anyhow::Result<Page> {
        let resp = self.http.get(url).send().await?;
        Ok(Page {
            status: resp.status().as_u16(),
            body: resp.text().await?,
        })
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> anyhow::Result<Page> {
        let resp = self.http.post(url).form(form).send().await?;
        Ok(Page {
            status: resp.status().as_u16(),
            body: resp.text().await?,
        })
    }

    async fn stored(&self, problem: &Problem) -> anyhow::Result<Problem> {
        let id = DocId::new(DocKind::Problem, &problem.id.to_string());
        let stored = self
            .service
            .with_store(move |s| shared::sync::server::ServerStore::load_doc(s, &id))
            .await
            .context("the store thread stopped")??
            .context("stored")?;
        Ok(ProblemDoc::load(&stored.bytes, shared::doc::ActorId::from([9; 16]))?.read()?)
    }
}

fn hotline() -> String {
    Config::demo().hotline
}

fn is_the_invalid_page(page: &Page) -> bool {
    page.body.contains("此连心卡已失效")
        && page.body.contains(&hotline())
        && page.body.starts_with("<!doctype html>")
        && !page.body.to_lowercase().contains("error")
}

#[tokio::test]
async fn an_officer_gets_one_card_link_per_enterprise_and_a_handler_may_not() -> anyhow::Result<()>
{
    let demo = Demo::start(CardLimits::default()).await?;
    let (enterprise, _, officer) = answered(&demo.district)?;
    let bearer = demo.token(&officer, 1).await?;

    let (status, first) = demo.card(&bearer, enterprise).await?;
    ensure!(status == 200, "{status} {first}");
    let link = first["link"].as_str().context("a link")?;
    let token = link.rsplit('/').next().unwrap_or_default();
    ensure!(
        token.len() == 40 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{link}"
    );
    ensure!(link.starts_with(&demo.server.url("/k/")), "{link}");
    ensure!(first["hotline"] == hotline());
    let (_, again) = demo.card(&bearer, enterprise).await?;
    ensure!(
        again["link"] == first["link"],
        "the card is made once: {again}"
    );

    let handler = demo
        .token(&demo.login_of(Role::DepartmentHandler)?, 2)
        .await?;
    let (status, body) = demo.card(&handler, enterprise).await?;
    ensure!(status == 403, "{status} {body}");
    ensure!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("card"),
        "{body}"
    );

    let elsewhere = problems(&demo.district)?
        .iter()
        .map(|p| p.enterprise)
        .find(|e| officer_of(&demo.district, *e).as_deref() != Some(officer.as_str()))
        .context("an enterprise of another officer")?;
    let (status, _) = demo.card(&bearer, elsewhere).await?;
    ensure!(
        status == 404,
        "outside the officer's scope answers like a missing one: {status}"
    );
    Ok(())
}

#[tokio::test]
async fn a_replaced_or_revoked_card_shows_the_no_longer_valid_page_with_the_hotline()
-> anyhow::Result<()> {
    let demo = Demo::start(CardLimits::default()).await?;
    let (enterprise, _, officer) = answered(&demo.district)?;
    let bearer = demo.token(&officer, 1).await?;
    let (_, old) = demo.card(&bearer, enterprise).await?;
    let old = old["link"].as_str().context("a link")?.to_string();
    ensure!(demo.get(&old).await?.status == 200);

    let (status, new) = demo.rotate(&bearer, enterprise, "rotate").await?;
    ensure!(status == 200, "{status} {new}");
    let new = new["link"].as_str().context("a new link")?.to_string();
    ensure!(new != old);
    let page = demo.get(&old).await?;
    ensure!(
        page.status == 410 && is_the_invalid_page(&page),
        "{} {}",
        page.status,
        page.body
    );
    ensure!(demo.get(&format!("{old}/card")).await?.status == 410);
    ensure!(demo.get(&new).await?.status == 200);

    let unknown = demo
        .get(&demo.server.url(&format!("/k/{}", "0".repeat(40))))
        .await?;
    ensure!(
        unknown.status == 404 && is_the_invalid_page(&unknown),
        "{}",
        unknown.body
    );
    let malformed = demo
        .get(&demo.server.url("/k/not-a-token%3Cscript%3E"))
        .await?;
    ensure!(malformed.status == 404 && is_the_invalid_page(&malformed));

    let (status, _) = demo.rotate(&bearer, enterprise, "revoke").await?;
    ensure!(status == 204, "{status}");
    let page = demo.get(&new).await?;
    ensure!(
        page.status == 410 && is_the_invalid_page(&page),
        "{}",
        page.status
    );
    Ok(())
}

#[tokio::test]
async fn the_enterprise_sees_its_own_problems_and_nothing_internal() -> anyhow::Result<()> {
    let demo = Demo::start(CardLimits::default()).await?;
    let (enterprise, _, officer) = answered(&demo.district)?;
    let bearer = demo.token(&officer, 1).await?;
    let (_, card) = demo.card(&bearer, enterprise).await?;
    let link = card["link"].as_str().context("a link")?;
    let page = demo.get(link).await?;
    ensure!(page.status == 200, "{}", page.status);

    let shown: BTreeSet<String> = page
        .body
        .split("<article id=\"p-")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect();
    let problems = problems(&demo.district)?;
    let own: BTreeSet<String> = problems
        .iter()
        .filter(|p| p.enterprise == enterprise)
        .map(|p| p.id.to_string())
        .collect();
    ensure!(
        !own.is_empty() && own.is_subset(&shown),
        "own {own:?} shown {shown:?}"
    );
    for p in problems.iter().filter(|p| p.enterprise != enterprise) {
        ensure!(
            !shown.contains(&p.id.to_string()),
            "another enterprise's problem is shown"
        );
    }
    for p in problems.iter().filter(|p| p.enterprise == enterprise) {
        if !p.response.trim().is_empty() {
            ensure!(
                page.body.contains(&server::card::page::esc(&p.response)),
                "the response is shown"
            );
        }
        let notes = p.progress.iter().map(|e| &e.text);
        for note in notes.chain(p.supervision.iter().map(|s| &s.text)) {
            ensure!(
                !page.body.contains(&server::card::page::esc(note)),
                "internal note shown: {note}",
            );
        }
        for e in p.events.iter().filter(|e| !e.reason.is_empty()) {
            ensure!(
                !page.body.contains(&server::card::page::esc(&e.reason)),
                "event reason shown: {}",
                e.reason
            );
        }
    }
    // Staff names: only the card's own people (the enterprise's officers and leaders).
    let on_card: BTreeSet<_> = demo
        .district
        .assignments
        .iter()
        .filter(|a| a.enterprise == enterprise && a.valid_to.is_none())
        .map(|a| a.user)
        .collect();
    for u in demo
        .district
        .users
        .iter()
        .filter(|u| !on_card.contains(&u.user.id))
    {
        ensure!(
            !page.body.contains(&u.user.name),
            "{} is named on the page",
            u.user.name
        );
    }
    let officer_name = &demo
        .district
        .users
        .iter()
        .find(|u| u.user.login == officer)
        .context("the officer")?
        .user
        .name;
    ensure!(page.body.contains(officer_name.as_str()) && page.body.contains(&hotline()));
    ensure!(!page.body.contains("<script"), "the page needs no script");
    Ok(())
}

#[tokio::test]
async fn what_the_enterprise_does_reaches_the_documents_with_its_channel_and_the_officers_device()
-> anyhow::Result<()> {
    let demo = Demo::start(CardLimits::default()).await?;
    let (enterprise, problem, officer) = answered(&demo.district)?;
    let bearer = demo.token(&officer, 1).await?;
    let (_, card) = demo.card(&bearer, enterprise).await?;
    let link = card["link"].as_str().context("a link")?.to_string();
    let mut device =
        NativeDevice::logged_in(3, &demo.server.url(""), &officer, DEMO_PASSWORD).await?;
    device.sync().await?;

    let on = |op: &str| format!("{link}/p/{}/{op}", problem.id);
    let page = demo.post(&on("confirm"), &[]).await?;
    ensure!(
        page.status == 200 && page.body.contains("id=\"done\""),
        "{} {}",
        page.status,
        page.body
    );
    // Disputed first: a bad rating of a confirmed problem would reopen it for a revisit
    // (browser_card checks that), and a reopened problem is no longer the enterprise's to
    // dispute.
    let page = demo
        .post(&on("dispute"), &[("reason", "问题没有真正解决")])
        .await?;
    ensure!(page.status == 200, "{}", page.body);
    let page = demo
        .post(&on("rate"), &[("rating", "2"), ("comment", "办得太慢")])
        .await?;
    ensure!(page.status == 200, "{}", page.body);
    let page = demo
        .post(
            &format!("{link}/problems"),
            &[
                ("category", "power"),
                ("description", "夜间频繁停电"),
                ("expectation", "尽快检修线路"),
            ],
        )
        .await?;
    ensure!(page.status == 200, "{}", page.body);

    let card_device = server::writer::card_device();
    let stored = demo.stored(&problem).await?;
    let by_card: Vec<_> = stored
        .events
        .iter()
        .filter(|e| e.stamp.device == card_device)
        .collect();
    ensure!(
        by_card.iter().any(|e| e.action == Action::Confirm)
            && by_card
                .iter()
                .any(|e| e.action == Action::Dispute && e.reason == "问题没有真正解决"),
        "{by_card:?}"
    );
    ensure!(replay(&stored).state == ProblemState::Disputed);
    let rating = stored.rating.clone().context("rated")?;
    ensure!(rating.rating == Rating::Dissatisfied && rating.channel == RatingChannel::Enterprise);
    ensure!(rating.comment == "办得太慢" && rating.stamp.device == card_device);

    device.sync().await?;
    let id = DocId::new(DocKind::Problem, &problem.id.to_string());
    let on_phone = device.problem(&id)?;
    ensure!(on_phone.rating.as_ref().map(|r| r.channel) == Some(RatingChannel::Enterprise));
    ensure!(replay(&on_phone).state == ProblemState::Disputed);
    // The enterprise's own word is not the officer's phone's to replace.
    device.rate(&id, Rating::VerySatisfied, "")?;
    device.sync().await?;
    let refused = device.status().refused;
    ensure!(
        refused
            .iter()
            .any(|(d, r)| *d == id && r.to_string().contains("only the enterprise")),
        "{refused:?}"
    );
    let stored = demo.stored(&problem).await?;
    ensure!(stored.rating.map(|r| r.rating) == Some(Rating::Dissatisfied));

    let raised: Vec<Problem> = demo
        .service
        .with_store(move |s| s.enterprise_problem_docs(enterprise, 50))
        .await
        .context("the store thread stopped")??
        .into_iter()
        .map(|(_, bytes)| {
            Ok(ProblemDoc::load(&bytes, shared::doc::ActorId::from([9; 16]))?.read()?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|p| p.description == "夜间频繁停电")
        .collect();
    ensure!(raised.len() == 1, "{raised:?}");
    let raised = &raised[0];
    ensure!(raised.source == ProblemSource::SelfReport && raised.created.device == card_device);
    ensure!(
        Some(raised.owner)
            == demo
                .district
                .users
                .iter()
                .find(|u| u.user.login == officer)
                .map(|u| u.user.id)
    );
    let on_phone = device.problem(&DocId::new(DocKind::Problem, &raised.id.to_string()))?;
    ensure!(on_phone.expectation == "尽快检修线路");
    Ok(())
}

#[tokio::test]
async fn a_second_rating_counts_and_both_stay_in_the_history() -> anyhow::Result<()> {
    let demo = Demo::start(CardLimits::default()).await?;
    let (enterprise, problem, officer) = answered(&demo.district)?;
    let bearer = demo.token(&officer, 1).await?;
    let (_, card) = demo.card(&bearer, enterprise).await?;
    let link = card["link"].as_str().context("a link")?.to_string();
    let rate = format!("{link}/p/{}/rate", problem.id);
    ensure!(
        demo.post(&rate, &[("rating", "2"), ("comment", "first")])
            .await?
            .status
            == 200
    );
    ensure!(
        demo.post(&rate, &[("rating", "4"), ("comment", "second")])
            .await?
            .status
            == 200
    );

    let stored = demo.stored(&problem).await?;
    ensure!(
        stored.rating.as_ref().map(|r| r.rating) == Some(Rating::Satisfied),
        "the latest counts"
    );
    let id = DocId::new(DocKind::Problem, &problem.id.to_string());
    let bytes = demo
        .service
        .with_store(move |s| shared::sync::server::ServerStore::load_doc(s, &id))
        .await
        .context("the store thread stopped")??
        .context("stored")?
        .bytes;
    let mut doc = shared::doc::RecordDoc::load(&bytes, shared::doc::ActorId::from([9; 16]))?;
    let ratings: Vec<_> = field_history(&mut doc)
        .into_iter()
        .filter(|c| c.field == "rating")
        .filter_map(|c| c.value)
        .collect();
    ensure!(
        ratings.iter().any(|v| v.contains('2')) && ratings.iter().any(|v| v.contains('4')),
        "{ratings:?}"
    );
    let page = demo.get(&link).await?;
    ensure!(
        page.body.contains("当前评价：满意"),
        "the page shows the latest rating"
    );
    Ok(())
}

#[tokio::test]
async fn floods_answer_429_per_token_and_per_address_without_touching_other_cards()
-> anyhow::Result<()> {
    let limits = CardLimits {
        per_token: 5,
        per_address: 14,
        window_ms: 60_000,
        ..CardLimits::default()
    };
    let demo = Demo::start(limits).await?;
    let (enterprise, problem, officer) = answered(&demo.district)?;
    let bearer = demo.token(&officer, 1).await?;
    let (_, card) = demo.card(&bearer, enterprise).await?;
    let flooded = card["link"].as_str().context("a link")?.to_string();
    let other_enterprise = demo
        .district
        .assignments
        .iter()
        .filter(|a| a.enterprise != enterprise)
        .map(|a| a.enterprise)
        .find(|e| officer_of(&demo.district, *e).as_deref() == Some(officer.as_str()))
        .context("a second enterprise of the officer")?;
    let (_, other) = demo.card(&bearer, other_enterprise).await?;
    let other = other["link"].as_str().context("a link")?.to_string();

    for i in 0..5 {
        ensure!(demo.get(&flooded).await?.status == 200, "request {i}");
    }
    let limited = demo.get(&flooded).await?;
    ensure!(
        limited.status == 429 && limited.body.contains(&hotline()),
        "{}",
        limited.status
    );
    let write = demo
        .post(&format!("{flooded}/p/{}/confirm", problem.id), &[])
        .await?;
    ensure!(write.status == 429, "writes count too: {}", write.status);
    ensure!(
        demo.get(&other).await?.status == 200,
        "another card is not touched"
    );

    // A body over the cap is refused before anything is read.
    let big = "字".repeat(8_000);
    let resp = demo
        .post(
            &format!("{other}/problems"),
            &[("category", "power"), ("description", &big)],
        )
        .await?;
    ensure!(resp.status == 413, "{}", resp.status);

    // Made-up tokens from one address stop at the address's limit, which then covers it.
    let mut statuses = Vec::new();
    for n in 0..10 {
        let url = demo.server.url(&format!("/k/{:040x}", n + 1));
        statuses.push(demo.get(&url).await?.status);
    }
    ensure!(
        statuses.contains(&404) && statuses.last() == Some(&429),
        "{statuses:?}"
    );
    ensure!(
        demo.get(&other).await?.status == 429,
        "the address is limited now"
    );

    // The officers' sync is another path, untouched by the card's limits.
    let mut device =
        NativeDevice::logged_in(4, &demo.server.url(""), &officer, DEMO_PASSWORD).await?;
    device.sync().await?;
    ensure!(
        device
            .problem(&DocId::new(DocKind::Problem, &problem.id.to_string()))
            .is_ok()
    );
    Ok(())
}
