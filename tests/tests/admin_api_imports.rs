//! The directory's imports over HTTP while the server runs (issue 17 item 1,
//! `POST /api/admin/imports/{kind}`), against a real server and SQLite file: a file with bad
//! lines is refused naming every one of them and stores nothing; the corrected file is
//! imported, the officers' event streams are told, and an officer's phone receives the newly
//! assigned enterprise at its next sync; a non-administrator gets 403 and nothing is stored;
//! each import is in the audit log as the acting administrator's.

use std::time::Duration;

use serde_json::Value;
use shared::doc::DocKind;
use shared::model::{CreditCode, EnterpriseId, Role};
use tests::admin::{ADMIN, AdminServer};
use tests::device::NativeDevice;
use tests::district::{self, PASSWORD};

type Setup = AdminServer;

/// A server with town `town-1`, the administrator and officer `wang` (assigned nothing).
async fn setup() -> anyhow::Result<Setup> {
    AdminServer::start(|s, town| {
        district::user(s, "wang", Role::Officer, town)?;
        Ok(())
    })
    .await
}

/// A valid credit code numbered `n`.
fn code(n: u32) -> anyhow::Result<String> {
    Ok(
        CreditCode::from_parts('9', '1', "419001", &format!("{:08}", 40_000_000 + n))?
            .as_str()
            .to_string(),
    )
}

/// Posts `csv` as an import of `kind` with `token`.
async fn import(s: &Setup, token: &str, kind: &str, csv: &str) -> anyhow::Result<(u16, Value)> {
    let resp = reqwest::Client::new()
        .post(s.server.url(&format!("/api/admin/imports/{kind}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

async fn stored(s: &Setup, credit_code: &str) -> anyhow::Result<Option<EnterpriseId>> {
    let code = credit_code.to_string();
    s.service
        .with_store(move |st| st.enterprise_by_credit_code(&code))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))?
        .map_err(Into::into)
}

/// The audit log's `imported` entries as (actor, subject, detail).
async fn imports_audited(s: &Setup) -> anyhow::Result<Vec<(String, String, String)>> {
    let entries = s
        .service
        .with_store(|st| st.audit_log(0, 10_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(entries
        .into_iter()
        .filter(|e| e.action == "imported")
        .map(|e| (e.actor, e.subject, e.detail))
        .collect())
}

/// Whether `stream` carries a `changed` event within five seconds.
async fn announces(stream: &mut reqwest::Response) -> anyhow::Result<bool> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut seen = String::new();
    loop {
        match tokio::time::timeout_at(deadline, stream.chunk()).await {
            Err(_) | Ok(Ok(None)) => return Ok(false),
            Ok(Ok(Some(bytes))) => {
                seen.push_str(&String::from_utf8_lossy(&bytes));
                if seen.contains("event: changed") || seen.contains("event:changed") {
                    return Ok(true);
                }
            }
            Ok(Err(error)) => anyhow::bail!("the stream failed: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_with_two_bad_lines_is_refused_naming_both_and_stores_nothing()
-> anyhow::Result<()> {
    let s = setup().await?;
    let csv = format!(
        "credit_code,name,town\n{},甲公司,town-1\n{}X,乙公司,town-1\n{},丙公司,nowhere\n",
        code(1)?,
        code(2)?,
        code(3)?
    );

    let (status, body) = import(&s, &s.admin, "enterprises", &csv).await?;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "import_lines", "{body}");
    let lines: Vec<u64> = body["lines"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["line"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(lines, [3, 4], "{body}");
    assert_eq!(
        stored(&s, &code(1)?).await?,
        None,
        "the good line stays out"
    );
    assert!(imports_audited(&s).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corrected_files_are_imported_and_the_officers_phone_receives_its_new_enterprise()
-> anyhow::Result<()> {
    let s = setup().await?;
    let mut phone = NativeDevice::logged_in(1, &s.server.url(""), "wang", PASSWORD).await?;
    phone.sync().await?;
    let mut stream = reqwest::Client::new()
        .get(s.server.url("/api/events"))
        .bearer_auth(phone.token.as_deref().unwrap_or_default())
        .header("accept", "text/event-stream")
        .send()
        .await?;
    assert_eq!(stream.status(), 200);

    let enterprises = format!(
        "credit_code,name,town\n{},甲公司,town-1\n{},乙公司,town-1\n",
        code(1)?,
        code(2)?
    );
    let (status, body) = import(&s, &s.admin, "enterprises", &enterprises).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 2, "{body}");
    assert!(
        announces(&mut stream).await?,
        "the event stream announces the new profiles"
    );
    let assignments = format!(
        "credit_code,login,valid_from\n{},wang,2020-01-01\n",
        code(1)?
    );
    let (status, body) = import(&s, &s.admin, "assignments", &assignments).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 1, "{body}");

    phone.sync().await?;

    let assigned = stored(&s, &code(1)?).await?.map(|id| id.to_string());
    let held: Vec<String> = phone
        .client
        .replica()
        .ids()
        .filter(|d| d.kind() == DocKind::Enterprise)
        .map(|d| d.root_id().to_string())
        .collect();
    assert!(assigned.is_some());
    assert_eq!(
        held,
        Vec::from_iter(assigned),
        "only the assigned enterprise"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_may_not_import_and_nothing_is_stored() -> anyhow::Result<()> {
    let s = setup().await?;
    let phone = NativeDevice::logged_in(1, &s.server.url(""), "wang", PASSWORD).await?;
    let csv = format!("credit_code,name,town\n{},甲公司,town-1\n", code(1)?);

    let (status, body) = import(
        &s,
        phone.token.as_deref().unwrap_or_default(),
        "enterprises",
        &csv,
    )
    .await?;

    assert_eq!(status, 403, "{body}");
    assert_eq!(stored(&s, &code(1)?).await?, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_import_is_audited_as_the_acting_administrators() -> anyhow::Result<()> {
    let s = setup().await?;
    let units = "code,name,kind,parent\ntown-2,西城镇,town,zone\n";

    let (status, body) = import(&s, &s.admin, "org-units", units).await?;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        imports_audited(&s).await?,
        [(
            ADMIN.to_string(),
            "POST /api/admin/imports/org-units".to_string(),
            "1 org unit(s)".to_string()
        )]
    );
    Ok(())
}
