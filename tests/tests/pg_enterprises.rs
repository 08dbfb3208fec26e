//! The administrator's enterprise profiles on `lianxin-server serve --db postgres://…` (issue
//! 16), as on SQLite: the same enterprises file imported on a SQLite demo server and on a
//! PostgreSQL one answers the same (new profiles, a known credit code left present, a bad file
//! refused line by line), lists and shows the same profiles and takes the same edit; on
//! PostgreSQL the new profile, edited and then assigned to officer1, reaches officer1's phone
//! with its monitoring document; one credit code imported on two servers of one database at
//! once is stored once; the merge still answers 503 there.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;

use serde_json::{Value, json};
use shared::doc::{DocKind, monitoring_id};
use shared::model::EnterpriseId;
use shared::sync::protocol::DocId;
use tests::admin::{call, import_csv};
use tests::device::NativeDevice;
use tests::district::credit_code;
use tests::pg::{Throwaway, connect};
use tests::process::{ServerProcess, server_binary};
use tests::raw::demo_token;

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

const HEADER: &str = "credit_code,name,address,town,industry,size,key_enterprise,lat,lon\n";

/// A profile's view without its id (drawn at random on each server).
fn without_id(mut view: Value) -> Value {
    if let Some(v) = view.as_object_mut() {
        v.remove("id");
    }
    view
}

/// What the administrator's story answered on one server, ids left out; and the new key
/// enterprise's id.
async fn story(base: &str) -> anyhow::Result<(Vec<(u16, Value)>, EnterpriseId)> {
    let admin = demo_token(base, "admin", 81).await?;
    let get = reqwest::Method::GET;
    let mut answers = Vec::new();
    let (status, page) = call(
        base,
        &admin,
        get.clone(),
        "/api/admin/enterprises?limit=3",
        None,
    )
    .await?;
    anyhow::ensure!(status == 200, "the list answered {status}: {page}");
    answers.push((status, page.clone()));
    let known = page["rows"][0]["credit_code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (new_key, new_small) = (credit_code(1)?, credit_code(2)?);

    // A bad file: a code given twice and a town that is a department. Nothing stored.
    let bad = format!(
        "{HEADER}{new_key},甲,,yuquan,,above,yes,,\n{new_key},甲,,yuquan,,,,,\n\
         {new_small},乙,,gongxin,,,,,\n"
    );
    answers.push(import_csv(base, &admin, "enterprises", &bad).await?);

    let file = format!(
        "{HEADER}{new_key},新企业甲,科技路1号,yuquan,装备制造,above,yes,35.08,112.59\n\
         {new_small},新企业乙,,kejing,,below,no,,\n{known},已有的企业,,yuquan,,,,,\n"
    );
    answers.push(import_csv(base, &admin, "enterprises", &file).await?);
    // Again: both are present now.
    answers.push(import_csv(base, &admin, "enterprises", &file).await?);

    let (status, found) = call(
        base,
        &admin,
        get.clone(),
        "/api/admin/enterprises?q=%E6%96%B0%E4%BC%81%E4%B8%9A",
        None,
    )
    .await?;
    anyhow::ensure!(status == 200, "the search answered {status}: {found}");
    let key_id = found["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["credit_code"] == new_key.as_str())
        .and_then(|r| r["id"].as_str())
        .map(EnterpriseId::parse)
        .transpose()?
        .ok_or_else(|| anyhow::anyhow!("the new key enterprise is not listed: {found}"))?;
    let mut rows = found.clone();
    for row in rows["rows"].as_array_mut().into_iter().flatten() {
        row["id"] = json!("");
    }
    answers.push((status, rows));
    // By credit code, in lowercase letters: ASCII case ignored as SQLite's LIKE ignores it.
    let lower = new_key.to_ascii_lowercase();
    let (status, by_code) = call(
        base,
        &admin,
        get.clone(),
        &format!("/api/admin/enterprises?q={lower}"),
        None,
    )
    .await?;
    answers.push((status, json!(by_code["rows"].as_array().map(Vec::len))));

    let (status, view) = call(
        base,
        &admin,
        get.clone(),
        &format!("/api/admin/enterprises/{key_id}"),
        None,
    )
    .await?;
    answers.push((status, without_id(view)));
    let edit = json!({"name": "新企业甲（更名）", "industry": "新材料"});
    let (status, view) = call(
        base,
        &admin,
        reqwest::Method::POST,
        &format!("/api/admin/enterprises/{key_id}/edit"),
        Some(edit),
    )
    .await?;
    answers.push((status, without_id(view)));
    // A bad edit: every bad field named, nothing changed.
    let (status, refused) = call(
        base,
        &admin,
        reqwest::Method::POST,
        &format!("/api/admin/enterprises/{key_id}/edit"),
        Some(json!({"name": "", "size": "huge"})),
    )
    .await?;
    answers.push((status, refused));
    let (status, unknown) = call(
        base,
        &admin,
        get,
        &format!(
            "/api/admin/enterprises/{}",
            EnterpriseId::from_random_bytes([7; 16])
        ),
        None,
    )
    .await?;
    answers.push((status, unknown["error"].clone()));
    Ok((answers, key_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprises_imported_and_edited_on_postgres_answer_as_on_sqlite_and_reach_the_phone()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lianxin.db");
    let seeded = Command::new(server_binary()?)
        .args(["demo", "--db"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .env_remove("LIANXIN_DB")
        .output()?;
    anyhow::ensure!(
        seeded.status.success(),
        "demo on SQLite failed: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let sqlite = ServerProcess::start(&file, any_port())?;
    let (on_sqlite, _) = story(&sqlite.url()).await?;
    drop(sqlite);

    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let server = ServerProcess::start_postgres(&url, any_port(), true, cwd.path())?;
    let base = server.url();
    let (on_postgres, key_id) = story(&base).await?;
    for (n, (pg, lite)) in on_postgres.iter().zip(&on_sqlite).enumerate() {
        assert_eq!(pg, lite, "answer {n}: PostgreSQL, then SQLite");
    }
    assert_eq!(on_postgres.len(), on_sqlite.len());
    let statuses: Vec<u16> = on_postgres.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 400, 200, 200, 200, 200, 200, 200, 400, 404]);
    let counts = |n: usize| {
        (
            on_postgres[n].1["imported"].clone(),
            on_postgres[n].1["present"].clone(),
        )
    };
    assert_eq!(counts(2), (json!(2), json!(1)), "{:?}", on_postgres[2]);
    assert_eq!(counts(3), (json!(0), json!(3)), "{:?}", on_postgres[3]);
    assert_eq!(on_postgres[7].1["name"], "新企业甲（更名）");

    // Audited as the administrator's, in the database the servers share.
    let db = connect(&url).await?;
    let entries: Vec<(String, String, String)> = db
        .query(
            "SELECT actor, action, detail FROM audit_log \
             WHERE action IN ('imported', 'enterprise_edited') ORDER BY seq",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let entry = |action: &str, detail: &str| ("admin".to_string(), action.into(), detail.into());
    assert_eq!(
        entries,
        [
            entry("imported", "2 enterprise(s), 1 already present"),
            entry("imported", "0 enterprise(s), 3 already present"),
            entry("enterprise_edited", "name,industry"),
        ]
    );

    // Assigned to officer1, the new profile as edited and its monitoring document reach
    // officer1's phone at its next sync.
    let password = server::demo::DEMO_PASSWORD;
    let mut phone = NativeDevice::logged_in(5, &base, "officer1", password).await?;
    phone.sync().await?;
    assert!(phone.profile(key_id)?.is_none(), "not officer1's yet");
    let admin = demo_token(&base, "admin", 82).await?;
    let assignments = format!(
        "credit_code,login,valid_from,valid_to\n{},officer1,2020-01-01,\n",
        credit_code(1)?
    );
    let (status, body) = import_csv(&base, &admin, "assignments", &assignments).await?;
    assert_eq!(status, 200, "{body}");
    for _ in 0..2 {
        phone.sync().await?;
    }
    let profile = phone
        .profile(key_id)?
        .ok_or_else(|| anyhow::anyhow!("the assigned profile did not reach the phone"))?;
    assert_eq!(
        (profile.name.as_str(), profile.industry.as_str()),
        ("新企业甲（更名）", "新材料")
    );
    let held: BTreeSet<DocId> = phone.client.replica().ids().cloned().collect();
    assert!(
        held.contains(&DocId::new(DocKind::Monitoring, &monitoring_id(key_id))),
        "the key enterprise's monitoring document did not reach the phone"
    );

    // Merges are not built on PostgreSQL: 503 naming the route.
    let (status, body) = call(
        &base,
        &admin,
        reqwest::Method::POST,
        &format!("/api/admin/enterprises/{key_id}/merge"),
        Some(json!({"absorb": key_id.to_string()})),
    )
    .await?;
    assert_eq!((status, &body["error"]), (503, &json!("not_on_postgres")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_credit_code_imported_on_two_postgres_servers_at_once_is_stored_once()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let a = ServerProcess::start_postgres(&url, any_port(), true, cwd.path())?;
    let b = ServerProcess::start_postgres(&url, any_port(), false, cwd.path())?;
    let (url_a, url_b) = (a.url(), b.url());
    let (on_a, on_b) = (
        demo_token(&url_a, "admin", 83).await?,
        demo_token(&url_b, "admin", 84).await?,
    );
    let db = connect(&url).await?;
    for round in 0..10_u8 {
        let code = credit_code(10 + round)?;
        let file = format!("{HEADER}{code},同时导入{round},,yuquan,,,yes,,\n");
        let (first, second) = tokio::join!(
            import_csv(&url_a, &on_a, "enterprises", &file),
            import_csv(&url_b, &on_b, "enterprises", &file),
        );
        let mut answers = [first?, second?]
            .into_iter()
            .map(|(status, body)| (status, body["imported"].clone(), body["present"].clone()))
            .collect::<Vec<_>>();
        answers.sort_by_key(|(_, imported, _)| imported.as_u64());
        assert_eq!(
            answers,
            [(200, json!(0), json!(1)), (200, json!(1), json!(0))],
            "round {round}: one stores it, the other finds it present"
        );
        let stored: i64 = db
            .query_one(
                "SELECT count(*) FROM enterprises WHERE credit_code = $1",
                &[&code],
            )
            .await?
            .get(0);
        assert_eq!(stored, 1, "round {round}: {code} stored {stored} times");
    }
    Ok(())
}
