//! Check-in checks and the leaders' visit list (issue 14, item 5), through the real server's
//! sync and HTTP API: a check-in is measured from the enterprise's registered position (the
//! first check-in with a position while the profile has none; the profile's once it has one),
//! marked outside the district's radius or without position, and `GET /api/visits` lists and
//! filters visits in the caller's scope; the dashboard counts the visits with on-site evidence.

use std::collections::BTreeSet;

use shared::config::Config;
use shared::doc::{DocKind, EnterpriseDoc, NewEnterprise, NewVisit, VisitDoc};
use shared::model::{
    CheckIn, CreditCode, DeviceId, EnterpriseSize, OperatingStatus, OrgUnitKind, Position,
    PositionFix, Role, VisitId, VisitMethod,
};
use shared::sync::protocol::Outcome;
use tests::device::id_bytes;
use tests::district::{self, enterprise};
use tests::problem_world::{Who, World, now};
use tests::raw::{RawSession, doc_id, push_new};

/// The first check-in's position: the enterprise's gate.
fn gate() -> Position {
    Position::new(35.07, 112.6, 12.0).expect("on earth")
}

/// 0.0207° north of the gate: about 2.3 km.
fn across_town() -> Position {
    Position::new(35.0907, 112.6, 20.0).expect("on earth")
}

/// `who` records a visit to enterprise 1 (number `n`): `method`, a check-in at `fix` (none for
/// a visit by phone), with a photo when `photo`.
async fn visit(
    world: &World,
    who: Who,
    n: u64,
    method: VisitMethod,
    fix: Option<PositionFix>,
    photo: bool,
) -> anyhow::Result<String> {
    visit_to(world.session(who), 1, n, method, fix, photo).await
}

/// [`visit`] by `session` to the test enterprise numbered `to`.
async fn visit_to(
    session: &RawSession,
    to: u64,
    n: u64,
    method: VisitMethod,
    fix: Option<PositionFix>,
    photo: bool,
) -> anyhow::Result<String> {
    let id = VisitId::from_random_bytes(id_bytes(71, n));
    let new = NewVisit {
        id,
        enterprise: enterprise(to),
        method,
        check_in: fix.map(|position| CheckIn {
            device_time: now(),
            position,
            photo_hash: photo.then(|| format!("{n:064x}")),
        }),
        operating_status: OperatingStatus::Normal,
        notes: "走访".into(),
    };
    let mut doc = VisitDoc::create(&new, &session.actor, session.actor_id.clone(), now())?;
    let out = session
        .push(vec![push_new(doc_id(DocKind::Visit, id), doc.record())])
        .await?;
    anyhow::ensure!(
        matches!(out[0].1, Outcome::Accepted { .. }),
        "{:?}",
        out[0].1
    );
    Ok(id.to_string())
}

/// `GET /api/visits?<query>` as `who`: the status and the body.
async fn list(world: &World, who: Who, query: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    list_as(world, world.session(who), query).await
}

/// [`list`] with `session`'s token.
async fn list_as(
    world: &World,
    session: &RawSession,
    query: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .get(world.server.url(&format!("/api/visits?{query}")))
        .bearer_auth(&session.token)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await?))
}

/// The ids a leader's list holds under `query`.
async fn ids(world: &World, query: &str) -> anyhow::Result<BTreeSet<String>> {
    ids_as(world, world.session(Who::Boss), query).await
}

/// The ids `session`'s list holds under `query`.
async fn ids_as(
    world: &World,
    session: &RawSession,
    query: &str,
) -> anyhow::Result<BTreeSet<String>> {
    let (status, page) = list_as(world, session, query).await?;
    anyhow::ensure!(status == 200, "{query}: {status} {page}");
    let rows = page["rows"].as_array().cloned().unwrap_or_default();
    anyhow::ensure!(page["total"].as_u64() == Some(rows.len() as u64), "{page}");
    Ok(rows
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect())
}

fn set<const N: usize>(ids: [&String; N]) -> BTreeSet<String> {
    ids.into_iter().cloned().collect()
}

/// Four visits: at the gate with a photo (the first position: it registers the enterprise's),
/// 2.3 km away with a photo, on site without permission, by phone.
async fn four_visits(world: &World) -> anyhow::Result<[String; 4]> {
    let at_gate = visit(
        world,
        Who::Wang,
        1,
        VisitMethod::OnSite,
        Some(PositionFix::Fixed(gate())),
        true,
    )
    .await?;
    let far = visit(
        world,
        Who::Li,
        2,
        VisitMethod::OnSite,
        Some(PositionFix::Fixed(across_town())),
        true,
    )
    .await?;
    let refused = visit(
        world,
        Who::Wang,
        3,
        VisitMethod::OnSite,
        Some(PositionFix::PermissionRefused),
        false,
    )
    .await?;
    let phone = visit(world, Who::Wang, 4, VisitMethod::Phone, None, false).await?;
    Ok([at_gate, far, refused, phone])
}

#[tokio::test]
async fn check_ins_are_measured_from_the_first_position_and_marked_outside_the_radius()
-> anyhow::Result<()> {
    let world = World::new().await?;
    let [at_gate, far, refused, phone] = four_visits(&world).await?;

    let (status, page) = list(&world, Who::Boss, "").await?;
    anyhow::ensure!(status == 200, "{status} {page}");
    assert_eq!(page["total"], 4);
    assert_eq!(page["radius_m"], 500);
    let row = |id: &str| {
        page["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    let first = row(&at_gate);
    assert_eq!(first["distance_m"], 0.0, "{first}");
    assert_eq!(first["outside_radius"], false);
    assert_eq!(first["evidence"], true);
    assert_eq!(first["photos"], 1);
    assert_eq!(first["method"], "on_site");
    assert_eq!(first["check_in"], "fixed");
    assert_eq!(first["officers"][0]["name"], "wang");
    assert_eq!(first["history_intact"], true, "judged at its commit");
    let second = row(&far);
    let metres = second["distance_m"].as_f64().unwrap_or(f64::NAN);
    assert!((metres - 2_302.0).abs() < 10.0, "{second}");
    assert_eq!(second["outside_radius"], true);
    assert_eq!(second["evidence"], false, "a photo, but not on site");
    let third = row(&refused);
    assert!(third["distance_m"].is_null(), "{third}");
    assert_eq!(third["outside_radius"], true, "no position: marked");
    assert_eq!(third["check_in"], "permission_refused");
    let fourth = row(&phone);
    assert_eq!(
        fourth["outside_radius"], false,
        "by phone: no check-in to judge"
    );
    assert!(fourth["check_in"].is_null());
    // Newest first (as the server counts each visit's time).
    let order: Vec<&str> = page["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(order, [&phone, &refused, &far, &at_gate]);
    Ok(())
}

#[tokio::test]
async fn the_visit_list_filters_like_the_problem_list_and_pages_without_repeats()
-> anyhow::Result<()> {
    let world = World::new().await?;
    let [at_gate, far, refused, phone] = four_visits(&world).await?;
    let li = world.session(Who::Li).actor.user.to_string();
    let e1 = enterprise(1).to_string();
    for (query, want) in [
        ("outside_radius=true", set([&far, &refused])),
        ("outside_radius=false", set([&at_gate, &phone])),
        ("photos=true", set([&at_gate, &far])),
        ("evidence=true", set([&at_gate])),
        ("method=phone", set([&phone])),
        (&format!("officer={li}") as &str, set([&far])),
        (
            &format!("enterprise={e1}&method=on_site&photos=false"),
            set([&refused]),
        ),
        (&format!("from={}", now().0 + 60_000), BTreeSet::new()),
    ] {
        assert_eq!(ids(&world, query).await?, want, "{query}");
    }
    // One row a page, oldest first: every visit once, in order.
    let mut seen = Vec::new();
    for offset in 0..5 {
        let (_, page) = list(
            &world,
            Who::Boss,
            &format!("order=asc&limit=1&offset={offset}"),
        )
        .await?;
        seen.extend(
            page["rows"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string)),
        );
    }
    assert_eq!(seen, [at_gate, far, refused, phone]);
    // Bad parameters are refused, not ignored.
    for bad in [
        "method=walking",
        "outside_radius=yes",
        "limit=0",
        "officer=x",
    ] {
        assert_eq!(list(&world, Who::Boss, bad).await?.0, 400, "{bad}");
    }
    // Who asks: an officer reads no lists; a handler's scope (problems handed to their
    // department) holds no visits.
    assert_eq!(list(&world, Who::Wang, "").await?.0, 403);
    let (status, page) = list(&world, Who::H1, "").await?;
    assert_eq!((status, page["total"].as_u64()), (200, Some(0)));
    Ok(())
}

#[tokio::test]
async fn the_profile_position_wins_and_the_radius_is_the_districts() -> anyhow::Result<()> {
    let mut world = World::new().await?;
    let [at_gate, far, _, _] = four_visits(&world).await?;
    let kpis = |world: &World| {
        let url = world.server.url(&format!(
            "/api/dashboard/kpis?from={}&to={}",
            now().0 - 86_400_000,
            now().0 + 86_400_000
        ));
        let token = world.session(Who::Boss).token.clone();
        async move {
            let k: serde_json::Value = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(k)
        }
    };
    let k = kpis(&world).await?;
    assert_eq!(
        (k["visits"].as_u64(), k["visits_with_evidence"].as_u64()),
        (Some(4), Some(1)),
        "{k}"
    );
    assert_eq!(k["evidence_rate"], 0.25);

    // The window registers the enterprise's profile with its position across town: every
    // check-in is measured from it again.
    let town = world
        .service
        .with_store(|s| district::town(s, "town-1"))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    let clerk = world.session(Who::Clerk);
    let profile = NewEnterprise {
        id: enterprise(1),
        credit_code: CreditCode::from_parts('9', '1', "419001", "30000013")?,
        name: "济源市恒通精密机械有限公司".into(),
        address: "玉泉街道工业路10号".into(),
        town,
        industry: "装备制造".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: false,
        position: Some(across_town()),
    };
    let mut doc = EnterpriseDoc::create(&profile, &clerk.actor, clerk.actor_id.clone(), now())?;
    let out = clerk
        .push(vec![push_new(
            doc_id(DocKind::Enterprise, enterprise(1)),
            doc.record(),
        )])
        .await?;
    anyhow::ensure!(
        matches!(out[0].1, Outcome::Accepted { .. }),
        "{:?}",
        out[0].1
    );
    assert_eq!(ids(&world, "evidence=true").await?, set([&far]));
    assert_eq!(k_evidence(&kpis(&world).await?), Some(1));

    // A district with a 3 km radius: both check-ins with a position are within it.
    let mut wide = Config::demo();
    wide.check_in.radius_m = 3_000;
    world.restart(wide).await?;
    assert_eq!(ids(&world, "evidence=true").await?, set([&at_gate, &far]));
    assert_eq!(k_evidence(&kpis(&world).await?), Some(2));
    let (_, page) = list(&world, Who::Boss, "").await?;
    assert_eq!(page["radius_m"], 3_000);
    Ok(())
}

fn k_evidence(k: &serde_json::Value) -> Option<u64> {
    k["visits_with_evidence"].as_u64()
}

#[tokio::test]
async fn the_unit_filter_keeps_the_visits_of_a_units_officers_and_never_widens_a_scope()
-> anyhow::Result<()> {
    let world = World::new().await?;
    // Wang and Li are officers of town-1; Zhao of town-2, assigned enterprise 2; town-2's
    // leader is assigned enterprise 2 as well (their scope: enterprise 2's records only).
    let (town1, town2, zone) = world
        .service
        .with_store(|s| -> anyhow::Result<_> {
            let town1 = district::town(s, "town-1")?;
            let town2 = district::town(s, "town-2")?;
            let zone = district::org_unit(s, district::ZONE, OrgUnitKind::Zone, None)?;
            let zhao = district::user(s, "zhao", Role::Officer, town2)?;
            let leader = district::user(s, "leader2", Role::Leader, town2)?;
            district::assign(s, zhao.id, [enterprise(2)])?;
            district::assign(s, leader.id, [enterprise(2)])?;
            Ok((town1, town2, zone))
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    let base = world.server.url("");
    let login = |name: &'static str, n: u64| {
        let base = base.clone();
        async move {
            RawSession::login(
                &base,
                name,
                district::PASSWORD,
                DeviceId::from_random_bytes(id_bytes(72, n)),
            )
            .await
        }
    };
    let zhao = login("zhao", 1).await?;
    let leader2 = login("leader2", 2).await?;
    let [at_gate, far, refused, phone] = four_visits(&world).await?;
    let town2_visit = visit_to(
        &zhao,
        2,
        5,
        VisitMethod::OnSite,
        Some(PositionFix::Fixed(gate())),
        true,
    )
    .await?;
    let town1_visits = set([&at_gate, &far, &refused, &phone]);
    let every = set([&at_gate, &far, &refused, &phone, &town2_visit]);

    // The zone's leader: a town's officers, a department's (none visit), the whole zone.
    for (query, want) in [
        (format!("unit={town1}"), town1_visits.clone()),
        (format!("unit={town2}"), set([&town2_visit])),
        (format!("unit={}", world.d1), BTreeSet::new()),
        (format!("unit={zone}"), every.clone()),
        (format!("unit={town1}&method=phone"), set([&phone])),
        (String::new(), every),
    ] {
        assert_eq!(ids(&world, &query).await?, want, "the zone leader, {query}");
    }
    // Town-2's leader reads enterprise 2's visits only, whichever unit the filter names.
    for (query, want) in [
        (String::new(), set([&town2_visit])),
        (format!("unit={town1}"), BTreeSet::new()),
        (format!("unit={zone}"), set([&town2_visit])),
    ] {
        assert_eq!(
            ids_as(&world, &leader2, &query).await?,
            want,
            "town-2's leader, {query}"
        );
    }
    assert_eq!(
        list(&world, Who::Boss, "unit=town-1").await?.0,
        400,
        "not an org unit id"
    );
    Ok(())
}
