//! Logging in, tokens and authorship, against the real server in-process with a real SQLite
//! file: the login contract the client is written against, the login rate limit, expiry and
//! refresh, revocation, and the refusal of changes that are not the device's own or that break
//! a role rule.

use std::sync::Arc;
use std::time::Duration;

use server::AppState;
use server::auth::AuthConfig;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{ActorId, DocKind, NewProblem, NewVisit, ProblemDoc, VisitDoc};
use shared::model::{
    Actor, DeviceId, EntryId, OperatingStatus, OrgUnitId, ProblemClass, ProblemId, ProblemSource,
    Role, Tier, Timestamp, UserId, VisitId, VisitMethod,
};
use shared::sync::protocol::{Outcome, Refusal};
use shared::workflow::Action;
use tempfile::TempDir;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes};
use tests::district::{self, PASSWORD, enterprise};
use tests::raw::{RawSession, doc_id, login_raw, push_edit, push_new, stored};

struct Setup {
    server: TestServer,
    service: Arc<SyncService>,
    _dir: TempDir,
}

async fn setup_with(config: AuthConfig) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let state = AppState::new(dir.path().join("no-site"), service.clone()).with_auth_config(config);
    let server = TestServer::start(state).await?;
    Ok(Setup {
        server,
        service,
        _dir: dir,
    })
}

async fn setup() -> anyhow::Result<Setup> {
    setup_with(AuthConfig::default()).await
}

fn device(n: u64) -> DeviceId {
    DeviceId::from_random_bytes(id_bytes(2, n))
}

const NOW: Timestamp = Timestamp(1_790_000_000_000);

fn new_visit(n: u64) -> NewVisit {
    NewVisit {
        id: VisitId::from_random_bytes(id_bytes(40, n)),
        enterprise: enterprise(1),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: "企业反映用工紧张".into(),
    }
}

async fn get_json(url: &str, token: Option<&str>) -> anyhow::Result<(u16, serde_json::Value)> {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

#[tokio::test]
async fn login_answers_the_session_contract_and_a_device_keeps_its_actor() -> anyhow::Result<()> {
    let s = setup().await?;
    let wang = district::officer(&s.service, "wang", [1]).await?;
    let base = s.server.url("");

    let (status, first) = login_raw(&base, "wang", PASSWORD, device(1)).await?;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["user"]["id"], wang.id.to_string());
    assert_eq!(first["user"]["name"], "wang");
    assert_eq!(first["user"]["role"], "officer");
    assert_eq!(first["user"]["org_unit"], wang.org_unit.to_string());
    assert_eq!(first["device"]["id"], device(1).to_string());
    let actor = first["device"]["actor_id"].as_str().unwrap_or_default();
    assert_eq!(actor.len(), 32, "16 bytes in hex: {actor}");
    assert!(first["token"].as_str().is_some_and(|t| t.len() >= 64));
    assert!(
        first["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 64)
    );
    assert_ne!(first["token"], first["refresh_token"]);
    assert!(first["expires_at"].as_i64().is_some_and(|t| t > NOW.0));

    let (_, again) = login_raw(&base, "wang", PASSWORD, device(1)).await?;
    assert_eq!(
        again["device"]["actor_id"], actor,
        "re-login keeps the actor"
    );
    assert_ne!(
        again["token"], first["token"],
        "every login gets new tokens"
    );
    let (_, other) = login_raw(&base, "wang", PASSWORD, device(2)).await?;
    assert_ne!(
        other["device"]["actor_id"], actor,
        "each device has its own actor"
    );

    let token = first["token"].as_str().unwrap_or_default();
    let (status, me) = get_json(&s.server.url("/api/me"), Some(token)).await?;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["id"], wang.id.to_string());
    assert_eq!(me["device"]["actor_id"], actor);

    // Another user logging in with a device id that is taken gets a device of their own.
    district::officer(&s.service, "li", [2]).await?;
    let (status, li) = login_raw(&base, "li", PASSWORD, device(1)).await?;
    assert_eq!(status, 200);
    assert_ne!(li["device"]["id"], device(1).to_string());
    assert_ne!(li["device"]["actor_id"], actor);
    Ok(())
}

#[tokio::test]
async fn wrong_passwords_unknown_logins_and_missing_tokens_are_refused_alike() -> anyhow::Result<()>
{
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let base = s.server.url("");
    let (status, body) = login_raw(&base, "wang", "not the password", device(1)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("bad_credentials"))
    );
    let (status, unknown) = login_raw(&base, "nobody", PASSWORD, device(1)).await?;
    assert_eq!(
        (status, unknown["error"].as_str()),
        (401, Some("bad_credentials"))
    );
    assert_eq!(
        body["message"], unknown["message"],
        "nothing tells which logins exist"
    );

    let me = s.server.url("/api/me");
    for token in [None, Some("not-a-token"), Some("")] {
        let (status, body) = get_json(&me, token).await?;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthenticated"))
        );
    }
    let response = reqwest::Client::new()
        .post(s.server.url("/api/login"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    Ok(())
}

#[tokio::test]
async fn the_sixth_bad_password_within_the_window_is_rate_limited() -> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let base = s.server.url("");
    for attempt in 1..=5 {
        let (status, body) = login_raw(&base, "wang", "guess", device(1)).await?;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("bad_credentials")),
            "attempt {attempt}"
        );
    }
    let (status, body) = login_raw(&base, "wang", "guess", device(1)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    let (status, _) = login_raw(&base, "wang", PASSWORD, device(1)).await?;
    assert_eq!(status, 429, "even the right password waits for the window");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_simultaneous_bad_passwords_get_only_the_limit_checked_and_the_rest_rate_limited()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let base = s.server.url("");
    let guesses: Vec<_> = (0..20)
        .map(|n| {
            let base = base.clone();
            tokio::spawn(
                async move { login_raw(&base, "wang", &format!("guess{n}"), device(1)).await },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await??.0);
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, limited),
        (
            AuthConfig::default().max_failures,
            20 - AuthConfig::default().max_failures
        ),
        "only the limit's number of guesses are checked: {statuses:?}"
    );
    Ok(())
}

/// The window sliding on is `server::auth::RateLimiter`'s unit test, on a clock it is given.
#[tokio::test]
async fn failures_from_one_address_limit_every_login_from_it() -> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let base = s.server.url("");
    for n in 0..5 {
        // Five different unknown logins from one address.
        let (status, _) = login_raw(&base, &format!("guess{n}"), "guess", device(1)).await?;
        assert_eq!(status, 401);
    }
    let (status, body) = login_raw(&base, "wang", PASSWORD, device(1)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_access_token_is_refused_and_the_refresh_token_gets_a_new_one()
-> anyhow::Result<()> {
    // Long enough for a login and a sync on a loaded machine; the test then waits for expiry.
    let s = setup_with(AuthConfig {
        access_ttl_ms: 3_000,
        ..AuthConfig::default()
    })
    .await?;
    district::officer(&s.service, "wang", [1]).await?;
    let mut wang = NativeDevice::logged_in(1, &s.server.url(""), "wang", PASSWORD).await?;
    wang.record_visit(enterprise(1), "过期前")?;
    wang.sync().await?;

    // Bounded: the token expires 3 s after it was issued.
    let mut answer = get_json(&s.server.url("/api/me"), wang.token.as_deref()).await?;
    for _ in 0..100 {
        if answer.0 != 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = get_json(&s.server.url("/api/me"), wang.token.as_deref()).await?;
    }
    let (status, body) = answer;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("token_expired"))
    );
    wang.record_visit(enterprise(1), "过期后")?;
    let refused = wang.sync().await.expect_err("an expired token cannot sync");
    assert!(refused.to_string().contains("token_expired"), "{refused}");

    let old = wang.token.clone();
    let info = wang.refresh().await?;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_ne!(wang.token, old);
    assert_eq!(
        info.body["device"]["actor_id"],
        wang.actor_id.to_hex_string()
    );
    // The engine stopped on the 401; "sync now" starts it again with the new token.
    wang.sync().await?;
    assert_eq!(wang.status().waiting, 0);
    let stored = s
        .service
        .with_store(|st| st.doc_count())
        .await
        .and_then(Result::ok);
    assert_eq!(stored, Some(2));

    let bad = reqwest::Client::new()
        .post(s.server.url("/api/refresh"))
        .json(&serde_json::json!({ "refresh_token": "forged" }))
        .send()
        .await?;
    assert_eq!(bad.status(), 401);
    Ok(())
}

#[tokio::test]
async fn a_revoked_device_is_refused_with_device_revoked_and_its_user_starts_again_elsewhere()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let base = s.server.url("");
    let mut phone = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    phone.record_visit(enterprise(1), "丢失前已同步")?;
    phone.sync().await?;

    let lost = phone.actor.device;
    s.service
        .with_store(move |st| st.revoke_device(lost, Timestamp(NOW.0), "test"))
        .await
        .expect("the store thread ran")?;

    phone.record_visit(enterprise(1), "丢失后")?;
    let refused = phone
        .sync()
        .await
        .expect_err("a revoked device cannot sync");
    assert!(refused.to_string().contains("device_revoked"), "{refused}");
    let (status, body) = get_json(&s.server.url("/api/me"), phone.token.as_deref()).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("device_revoked"))
    );
    let info = phone.refresh().await?;
    assert_eq!(info.body["error"], "device_revoked");
    assert_eq!(
        s.service
            .with_store(|st| st.doc_count())
            .await
            .and_then(Result::ok),
        Some(1)
    );

    // The officer logs in on a new phone and gets their records back from the server.
    let mut new_phone = NativeDevice::logged_in(2, &base, "wang", PASSWORD).await?;
    new_phone.sync().await?;
    assert_eq!(new_phone.client.replica().len(), 1);
    // Logging in again with the revoked phone's id registers a new device instead.
    let (status, again) = login_raw(&base, "wang", PASSWORD, lost).await?;
    assert_eq!(status, 200);
    assert_ne!(again["device"]["id"], lost.to_string());
    Ok(())
}

#[tokio::test]
async fn two_phones_with_one_device_id_get_their_own_devices_and_both_edits_are_accepted()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let base = s.server.url("");
    let mut phone = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    // A copy of the phone's id (a copied browser profile, a restored backup) on a second phone,
    // with the secret that phone made.
    let mut copy = NativeDevice::new(2, &base);
    copy.actor.device = phone.actor.device;
    assert_ne!(copy.device_secret, phone.device_secret);
    let info = copy.login("wang", PASSWORD).await?;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_ne!(copy.actor.device, phone.actor.device, "a device of its own");
    assert_ne!(copy.actor_id, phone.actor_id, "an actor of its own");

    // Both phones edit one visit offline; both edits are accepted and merge.
    let visit = phone.record_visit(enterprise(1), "走访")?;
    phone.sync().await?;
    copy.sync().await?;
    phone.edit_visit_notes(&visit, "走访：用工紧张")?;
    copy.edit_visit_notes(&visit, "走访，企业反映")?;
    phone.sync().await?;
    copy.sync().await?;
    phone.sync().await?;
    for (name, device) in [("phone", &mut phone), ("copy", &mut copy)] {
        let status = device.status();
        assert!(status.refused.is_empty(), "{name}: {:?}", status.refused);
        assert_eq!(status.waiting, 0, "{name}: every edit acknowledged");
    }
    assert_eq!(phone.visit_notes(&visit)?, copy.visit_notes(&visit)?);

    // Each keeps its device at its next login; an app without a secret gets a new one.
    let (phone_device, copy_device) = (phone.actor.device, copy.actor.device);
    phone.login("wang", PASSWORD).await?;
    copy.login("wang", PASSWORD).await?;
    assert_eq!(
        (phone.actor.device, copy.actor.device),
        (phone_device, copy_device)
    );
    let (status, old_app) = login_raw(&base, "wang", PASSWORD, phone_device).await?;
    assert_eq!(status, 200);
    assert_ne!(old_app["device"]["id"], phone_device.to_string());
    Ok(())
}

#[tokio::test]
async fn a_device_secret_of_a_length_no_app_makes_is_refused_as_malformed() -> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    for secret in ["short".to_string(), "x".repeat(257)] {
        let response = reqwest::Client::new()
            .post(s.server.url("/api/login"))
            .json(&serde_json::json!({
                "login": "wang",
                "password": PASSWORD,
                "device_id": device(1).to_string(),
                "device_secret": secret,
            }))
            .send()
            .await?;
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await?;
        assert_eq!(body["error"], "malformed");
    }
    Ok(())
}

/// A logged-in officer `wang` of enterprise 1, speaking the protocol by hand.
async fn raw_officer(s: &Setup) -> anyhow::Result<RawSession> {
    district::officer(&s.service, "wang", [1]).await?;
    RawSession::login(&s.server.url(""), "wang", PASSWORD, device(1)).await
}

fn forbidden(outcome: &Outcome, containing: &str) -> bool {
    matches!(outcome, Outcome::Refused(Refusal::Forbidden(m)) if m.contains(containing))
}

#[tokio::test]
async fn changes_made_with_another_actor_or_naming_another_user_or_role_are_refused()
-> anyhow::Result<()> {
    let s = setup().await?;
    let wang = raw_officer(&s).await?;
    let cases: [(&str, Actor, ActorId, &str); 4] = [
        (
            "a forged actor",
            wang.actor,
            ActorId::from(id_bytes(99, 1)),
            "not this device's",
        ),
        (
            "another user",
            Actor {
                user: UserId::from_random_bytes(id_bytes(98, 1)),
                ..wang.actor
            },
            wang.actor_id.clone(),
            "another user",
        ),
        (
            "another device",
            Actor {
                device: device(77),
                ..wang.actor
            },
            wang.actor_id.clone(),
            "another device",
        ),
        (
            "a role the user does not have",
            Actor {
                role: Role::Leader,
                ..wang.actor
            },
            wang.actor_id.clone(),
            "role leader",
        ),
    ];
    for (n, (what, actor, actor_id, why)) in cases.into_iter().enumerate() {
        let visit = new_visit(n as u64);
        let mut doc = VisitDoc::create(&visit, &actor, actor_id, NOW)?.into_record();
        let id = doc_id(DocKind::Visit, visit.id);
        let outcome = wang.push(vec![push_new(id.clone(), &mut doc)]).await?;
        assert!(forbidden(&outcome[0].1, why), "{what}: {:?}", outcome[0].1);
        let exists = s
            .service
            .with_store(move |st| st.has_doc(&id))
            .await
            .and_then(Result::ok);
        assert_eq!(exists, Some(false), "{what}: nothing stored");
    }

    // The device's own change is accepted; a forged edit of it afterwards is not.
    let visit = new_visit(9);
    let id = doc_id(DocKind::Visit, visit.id);
    let mut doc = VisitDoc::create(&visit, &wang.actor, wang.actor_id.clone(), NOW)?.into_record();
    let outcome = wang.push(vec![push_new(id.clone(), &mut doc)]).await?;
    assert!(
        matches!(outcome[0].1, Outcome::Accepted { .. }),
        "{:?}",
        outcome[0].1
    );
    let forged = ActorId::from(id_bytes(99, 2));
    let (record, base) = {
        let id = id.clone();
        s.service
            .with_store(move |st| stored(st, &id, forged))
            .await
            .expect("the store thread ran")?
    };
    let mut visit_doc = VisitDoc::from_record(record)?;
    visit_doc.edit(&wang.actor, NOW, |e| e.set_notes("伪造的修改"))?;
    let mut record = visit_doc.into_record();
    let outcome = wang
        .push(vec![push_edit(id.clone(), &mut record, &base)])
        .await?;
    assert!(
        forbidden(&outcome[0].1, "not this device's"),
        "{:?}",
        outcome[0].1
    );
    Ok(())
}

/// Problem `n` of enterprise 1 by the raw session `by`, optionally handed to `unit`.
fn problem_doc(
    by: &RawSession,
    n: u64,
    tier: Tier,
    unit: Option<OrgUnitId>,
) -> anyhow::Result<(shared::sync::protocol::DocId, ProblemDoc)> {
    let id = ProblemId::from_random_bytes(id_bytes(50, n));
    let mut doc = ProblemDoc::create(
        &NewProblem {
            id,
            enterprise: enterprise(1),
            visit: None,
            source: ProblemSource::Visit,
            category: "power".into(),
            class: ProblemClass::A,
            tier,
            owner: by.actor.user,
            leader: None,
            deadline: NOW.plus_days(7),
            description: "变压器容量不足".into(),
            expectation: "增容".into(),
        },
        &Config::default(),
        &by.actor,
        by.actor_id.clone(),
        NOW,
    )?;
    if let Some(unit) = unit {
        doc.act(
            &by.actor,
            NOW,
            EntryId::from_random_bytes(id_bytes(51, n)),
            Action::Triage,
            "",
        )?;
        doc.act(
            &by.actor,
            NOW,
            EntryId::from_random_bytes(id_bytes(52, n)),
            Action::Assign { unit },
            "",
        )?;
    }
    Ok((doc_id(DocKind::Problem, id), doc))
}

#[tokio::test]
async fn role_rules_hold_for_tiers_handling_units_and_supervision() -> anyhow::Result<()> {
    let s = setup().await?;
    let base = s.server.url("");
    let wang = raw_officer(&s).await?;
    let (d1, d2) = s
        .service
        .with_store(|st| -> anyhow::Result<_> {
            let d1 = district::department(st, "d1")?;
            let d2 = district::department(st, "d2")?;
            let zone =
                district::org_unit(st, district::ZONE, shared::model::OrgUnitKind::Zone, None)?;
            district::user(st, "h1", Role::DepartmentHandler, d1)?;
            district::user(st, "h2", Role::DepartmentHandler, d2)?;
            district::user(st, "boss", Role::Leader, zone)?;
            Ok((d1, d2))
        })
        .await
        .expect("the store thread ran")?;
    let _ = d2;

    // An officer cannot raise a problem straight to the city-leader tier; a leader can.
    let (id, mut doc) = problem_doc(&wang, 1, Tier::CityLeader, None)?;
    let out = wang.push(vec![push_new(id, doc.record())]).await?;
    assert!(forbidden(&out[0].1, "city-leader"), "{:?}", out[0].1);
    let boss = RawSession::login(&base, "boss", PASSWORD, device(3)).await?;
    let (id, mut doc) = problem_doc(&boss, 2, Tier::CityLeader, None)?;
    let out = boss.push(vec![push_new(id, doc.record())]).await?;
    assert!(
        matches!(out[0].1, Outcome::Accepted { .. }),
        "{:?}",
        out[0].1
    );

    // A problem a leader hands to d1: h1 may accept it, h2 never sees it, the officer may not
    // accept.
    let (id, mut doc) = problem_doc(&boss, 3, Tier::Department, Some(d1))?;
    let out = boss.push(vec![push_new(id.clone(), doc.record())]).await?;
    assert!(
        matches!(out[0].1, Outcome::Accepted { .. }),
        "{:?}",
        out[0].1
    );
    let h1 = RawSession::login(&base, "h1", PASSWORD, device(4)).await?;
    let h2 = RawSession::login(&base, "h2", PASSWORD, device(5)).await?;
    assert!(h1.read_all().await?.contains(&id));
    assert!(!h2.read_all().await?.contains(&id));

    let act = |by: &RawSession, n: u64, action: Action, reason: &'static str| {
        let by = by.clone();
        let id = id.clone();
        let service = s.service.clone();
        async move {
            let (record, base) = {
                let id = id.clone();
                let actor_id = by.actor_id.clone();
                service
                    .with_store(move |st| stored(st, &id, actor_id))
                    .await
                    .expect("the store thread ran")?
            };
            let mut doc = ProblemDoc::from_record(record)?;
            doc.act(
                &by.actor,
                NOW,
                EntryId::from_random_bytes(id_bytes(53, n)),
                action,
                reason,
            )?;
            let out = by.push(vec![push_edit(id, doc.record(), &base)]).await?;
            anyhow::Ok(out[0].1.clone())
        }
    };
    let out = act(&wang, 1, Action::Accept, "").await?;
    assert!(forbidden(&out, "handler of a department"), "{out:?}");
    let out = act(&h2, 2, Action::Accept, "").await?;
    assert_eq!(
        out,
        Outcome::Refused(Refusal::OutOfScope),
        "h2's department was not handed it"
    );
    let out = act(&h1, 3, Action::Accept, "").await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    let out = act(
        &wang,
        4,
        Action::Escalate {
            to: Tier::CityLeader,
        },
        "重大问题",
    )
    .await?;
    assert!(forbidden(&out, "escalates"), "{out:?}");
    let out = act(
        &boss,
        5,
        Action::Escalate {
            to: Tier::CityLeader,
        },
        "重大问题",
    )
    .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");

    // A handler does not reroute: changing the owner is refused.
    let (record, base) = {
        let id = id.clone();
        let actor_id = h1.actor_id.clone();
        s.service
            .with_store(move |st| stored(st, &id, actor_id))
            .await
            .expect("the store thread ran")?
    };
    let mut doc = ProblemDoc::from_record(record)?;
    doc.edit(&Config::default(), &h1.actor, NOW, |e| {
        e.set_owner(h1.actor.user)
    })?;
    let out = h1
        .push(vec![push_edit(id.clone(), doc.record(), &base)])
        .await?;
    assert!(
        forbidden(&out[0].1, "may not change the owner"),
        "{:?}",
        out[0].1
    );

    // Supervision instructions are for leaders and supervisors.
    let (record, base) = {
        let id = id.clone();
        let actor_id = wang.actor_id.clone();
        s.service
            .with_store(move |st| stored(st, &id, actor_id))
            .await
            .expect("the store thread ran")?
    };
    let mut doc = ProblemDoc::from_record(record)?;
    doc.edit(&Config::default(), &wang.actor, NOW, |e| {
        e.add_supervision(EntryId::from_random_bytes(id_bytes(54, 1)), "限期办结")
    })?;
    let out = wang
        .push(vec![push_edit(id.clone(), doc.record(), &base)])
        .await?;
    assert!(forbidden(&out[0].1, "supervision"), "{:?}", out[0].1);
    Ok(())
}
