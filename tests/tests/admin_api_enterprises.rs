//! The administrator edits enterprise profiles and merges duplicates while the server runs
//! (issue 17 item 1, `/api/admin/enterprises…`), against a real server and SQLite file and
//! officers' phones (the native sync client): an edit reaches the officer's phone; a merge of
//! two profiles with one credit code brings the absorbed profile's visits to the survivor on
//! every phone, keeps a visit recorded offline for the absorbed profile before the merge, and is
//! audited; refusals (403, 400, 404) change nothing. And .xlsx imports: bad rows named by their
//! row number with nothing stored, the fixed file stored, a decompression bomb refused.

use std::sync::Arc;

use serde_json::{Value, json};
use server::sync::SyncService;
use shared::model::EnterpriseId;
use tests::TestServer;
use tests::admin::{ADMIN, AdminServer, token};
use tests::device::{NativeDevice, wall_clock};
use tests::district::{self, PASSWORD, credit_code, enterprise};

struct Setup {
    server: TestServer,
    service: Arc<SyncService>,
    admin: String,
    /// Officer of the first profile (enterprise 1).
    wang: NativeDevice,
    /// Officer of the duplicate (enterprise 2).
    li: NativeDevice,
    _dir: tempfile::TempDir,
}

/// Two profiles of one enterprise (credit code 0: enterprises 1, registered first, and 2, a
/// duplicate registered later) and another enterprise (3, its own code); officer `wang` has 1
/// and 3, `li` has 2; each recorded and synced a visit of theirs.
async fn setup() -> anyhow::Result<Setup> {
    let AdminServer {
        server,
        service,
        admin,
        dir,
    } = AdminServer::start(|s, town| {
        let code = credit_code(0)?;
        district::profile(s, 1, &code, "济源钢铁", town)?;
        district::profile(s, 2, &code, "济源钢铁（重复）", town)?;
        district::profile(s, 3, &credit_code(1)?, "玉川化工", town)?;
        district::officer_in(s, "wang", [1, 3])?;
        district::officer_in(s, "li", [2])?;
        Ok(())
    })
    .await?;
    let mut wang = NativeDevice::logged_in(1, &server.url(""), "wang", PASSWORD).await?;
    wang.record_visit(enterprise(1), "王：用电紧张")?;
    wang.sync().await?;
    let mut li = NativeDevice::logged_in(2, &server.url(""), "li", PASSWORD).await?;
    li.record_visit(enterprise(2), "李：用工缺口")?;
    li.sync().await?;
    Ok(Setup {
        server,
        service,
        admin,
        wang,
        li,
        _dir: dir,
    })
}

async fn call(
    s: &Setup,
    method: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let url = s.server.url(&format!("/api{path}"));
    let client = reqwest::Client::new();
    let mut req = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    }
    .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

async fn merge(
    s: &Setup,
    keep: EnterpriseId,
    absorb: EnterpriseId,
) -> anyhow::Result<(u16, Value)> {
    let path = format!("/admin/enterprises/{keep}/merge");
    call(
        s,
        "POST",
        &s.admin,
        &path,
        Some(json!({"absorb": absorb.to_string()})),
    )
    .await
}

/// The audit log's entries of `action` as (actor, subject).
async fn audited(s: &Setup, action: &str) -> anyhow::Result<Vec<(String, String)>> {
    let entries = s
        .service
        .with_store(|st| st.audit_log(0, 10_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(entries
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| (e.actor, e.subject))
        .collect())
}

/// The profile as the administrator's `GET` answers it.
async fn shown(s: &Setup, id: EnterpriseId) -> anyhow::Result<Value> {
    let (status, body) = call(
        s,
        "GET",
        &s.admin,
        &format!("/admin/enterprises/{id}"),
        None,
    )
    .await?;
    anyhow::ensure!(status == 200, "{status} {body}");
    Ok(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_of_contacts_and_position_reaches_the_officers_phone() -> anyhow::Result<()> {
    let mut s = setup().await?;
    let edit = json!({
        "name": "济源钢铁集团",
        "position": {"lat": 35.09, "lon": 112.6, "accuracy_m": 12.0},
        "contacts": [
            {"name": "赵强", "title": "总经理", "phone": "0391-6612345"},
            {"name": "钱芳", "title": "办公室主任", "phone": "13903910000"},
        ],
    });

    let (status, body) = call(
        &s,
        "POST",
        &s.admin,
        &format!("/admin/enterprises/{}/edit", enterprise(1)),
        Some(edit),
    )
    .await?;

    assert_eq!(status, 200, "{body}");
    s.wang.sync().await?;
    let on_phone = s
        .wang
        .profile(enterprise(1))?
        .expect("the profile is on the phone");
    assert_eq!(on_phone.name, "济源钢铁集团");
    let position = on_phone.position.expect("a position");
    assert_eq!(
        (position.lat, position.lon, position.accuracy_m),
        (35.09, 112.6, 12.0)
    );
    let mut contacts: Vec<_> = on_phone
        .contacts
        .values()
        .map(|c| (c.name.as_str(), c.title.as_str(), c.phone.as_str()))
        .collect();
    contacts.sort_unstable();
    assert_eq!(
        contacts,
        [
            ("赵强", "总经理", "0391-6612345"),
            ("钱芳", "办公室主任", "13903910000")
        ]
    );
    // The second edit removes one contact and renames the other, by the ids the server gave.
    let ids: Vec<String> = body["contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["name"] == "赵强")
        .map(|c| c["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let (status, body) = call(
        &s,
        "POST",
        &s.admin,
        &format!("/admin/enterprises/{}/edit", enterprise(1)),
        Some(json!({"contacts": [{"id": ids[0], "name": "赵强", "title": "董事长", "phone": ""}]})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    s.wang.sync().await?;
    let on_phone = s
        .wang
        .profile(enterprise(1))?
        .expect("the profile is on the phone");
    let contacts: Vec<_> = on_phone
        .contacts
        .values()
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(contacts, ["董事长"]);
    assert_eq!(
        audited(&s, "enterprise_edited").await?,
        [
            (ADMIN.to_string(), enterprise(1).to_string()),
            (ADMIN.to_string(), enterprise(1).to_string())
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_brings_the_absorbed_profiles_visits_to_the_survivor_on_every_phone()
-> anyhow::Result<()> {
    let mut s = setup().await?;

    let (status, body) = merge(&s, enterprise(1), enterprise(2)).await?;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["records_moved"], 1, "{body}");
    for phone in [&mut s.wang, &mut s.li] {
        phone.sync().await?;
        assert_eq!(
            phone.visits_of(enterprise(1))?,
            ["李：用工缺口", "王：用电紧张"],
            "the survivor shows both profiles' visits"
        );
        assert!(
            phone.profile(enterprise(2))?.is_none(),
            "the absorbed profile left the phone"
        );
    }
    let absorbed = shown(&s, enterprise(2)).await?;
    assert_eq!(
        absorbed["merged_into"],
        enterprise(1).to_string(),
        "{absorbed}"
    );
    assert_eq!(
        absorbed["name"], "济源钢铁（重复）",
        "kept whole: {absorbed}"
    );
    let (_, list) = call(&s, "GET", &s.admin, "/admin/enterprises", None).await?;
    let listed: Vec<&str> = list["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        listed,
        ["济源钢铁", "玉川化工"],
        "the absorbed profile is hidden"
    );
    assert_eq!(
        audited(&s, "enterprise_merged").await?,
        [(
            ADMIN.to_string(),
            format!("{} -> {}", enterprise(2), enterprise(1))
        )]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_recorded_offline_for_the_absorbed_profile_follows_the_survivor()
-> anyhow::Result<()> {
    let mut s = setup().await?;
    // Li records a visit of the duplicate with no signal; the administrator merges meanwhile.
    s.li.record_visit(enterprise(2), "李：离线记录的走访")?;
    let (status, body) = merge(&s, enterprise(1), enterprise(2)).await?;
    assert_eq!(status, 200, "{body}");

    s.li.sync().await?;
    let moved = s
        .service
        .with_store(|st| {
            server::admin::enterprises::repoint_strays(
                st,
                &shared::config::Config::default(),
                wall_clock(),
            )
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;

    assert_eq!(moved, 1, "the late visit was re-pointed");
    let status = s.li.status();
    assert!(
        status.refused.is_empty(),
        "accepted, not refused: {:?}",
        status.refused
    );
    assert_eq!(status.waiting, 0, "nothing left to upload");
    s.wang.sync().await?;
    assert_eq!(
        s.wang.visits_of(enterprise(1))?,
        ["李：用工缺口", "李：离线记录的走访", "王：用电紧张"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_edits_and_merges_change_nothing() -> anyhow::Result<()> {
    let s = setup().await?;
    let officer = token(&s.server, "wang", PASSWORD, 7).await?;
    let edit = |id: EnterpriseId| format!("/admin/enterprises/{id}/edit");

    let (status, _) = call(&s, "GET", &officer, "/admin/enterprises", None).await?;
    assert_eq!(status, 403, "an officer lists no profiles");
    let (status, _) = call(
        &s,
        "POST",
        &officer,
        &edit(enterprise(1)),
        Some(json!({"name": "x"})),
    )
    .await?;
    assert_eq!(status, 403, "an officer edits nothing here");
    let path = format!("/admin/enterprises/{}/merge", enterprise(1));
    let (status, _) = call(
        &s,
        "POST",
        &officer,
        &path,
        Some(json!({"absorb": enterprise(2).to_string()})),
    )
    .await?;
    assert_eq!(status, 403, "an officer merges nothing");

    let (status, body) = merge(&s, enterprise(1), enterprise(3)).await?;
    assert_eq!(status, 400, "different credit codes: {body}");
    let (status, body) = merge(&s, enterprise(1), enterprise(1)).await?;
    assert_eq!(status, 400, "the same profile twice: {body}");
    let (status, body) = merge(&s, enterprise(1), enterprise(9)).await?;
    assert_eq!(status, 404, "unknown absorbed id: {body}");
    let (status, body) = merge(&s, enterprise(9), enterprise(1)).await?;
    assert_eq!(status, 404, "unknown survivor id: {body}");
    let (status, body) = call(
        &s,
        "POST",
        &s.admin,
        &edit(enterprise(9)),
        Some(json!({"name": "x"})),
    )
    .await?;
    assert_eq!(status, 404, "unknown id: {body}");
    let (status, body) = call(&s, "GET", &s.admin, "/admin/enterprises/not-an-id", None).await?;
    assert_eq!(status, 404, "not an id: {body}");

    let bad_contacts = json!({"contacts": [
        {"name": "", "title": "总经理", "phone": "0391-6612345"},
        {"name": "钱芳", "title": "主任", "phone": "call me"},
    ]});
    let (status, body) = call(
        &s,
        "POST",
        &s.admin,
        &edit(enterprise(1)),
        Some(bad_contacts),
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("contacts[1].name") && message.contains("contacts[2].phone"),
        "every bad field named: {message}"
    );

    let profile = shown(&s, enterprise(1)).await?;
    assert_eq!(profile["contacts"], json!([]), "{profile}");
    assert!(audited(&s, "enterprise_edited").await?.is_empty());
    assert!(audited(&s, "enterprise_merged").await?.is_empty());
    assert_eq!(shown(&s, enterprise(2)).await?["merged_into"], Value::Null);
    Ok(())
}

/// An .xlsx workbook of `rows` (the first the header), numbers written as numbers.
fn workbook(rows: &[&[&str]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (u32::try_from(r)?, u16::try_from(c)?);
            match cell.parse::<f64>() {
                Ok(n) => sheet.write_number(r, c, n)?,
                Err(_) => sheet.write_string(r, c, *cell)?,
            };
        }
    }
    Ok(book.save_to_buffer()?)
}

async fn import_xlsx(s: &Setup, kind: &str, bytes: Vec<u8>) -> anyhow::Result<(u16, Value)> {
    let resp = reqwest::Client::new()
        .post(s.server.url(&format!("/api/admin/imports/{kind}")))
        .bearer_auth(&s.admin)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(bytes)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xlsx_import_names_bad_rows_by_number_and_stores_nothing_until_fixed()
-> anyhow::Result<()> {
    let s = setup().await?;
    let (a, b, c) = (credit_code(5)?, credit_code(6)?, credit_code(7)?);
    let header: &[&str] = &["credit_code", "name", "town", "size", "lat", "lon"];
    let bad = workbook(&[
        header,
        &[&a, "沁园食品", "town-1", "above", "35.1", "112.5"],
        &[&b, "", "town-1", "below", "", ""],
        &[&c, "王屋山茶业", "town-1", "huge", "", ""],
    ])?;

    let (status, body) = import_xlsx(&s, "enterprises", bad).await?;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "import_lines", "{body}");
    let lines: Vec<u64> = body["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["line"].as_u64())
        .collect();
    assert_eq!(lines, [3, 4], "the sheet's row numbers: {body}");
    let (_, list) = call(
        &s,
        "GET",
        &s.admin,
        &format!("/admin/enterprises?q={a}"),
        None,
    )
    .await?;
    assert_eq!(list["rows"], json!([]), "nothing was imported: {list}");

    let fixed = workbook(&[
        header,
        &[&a, "沁园食品", "town-1", "above", "35.1", "112.5"],
        &[&b, "五龙口陶瓷", "town-1", "below", "", ""],
        &[&c, "王屋山茶业", "town-1", "above", "", ""],
    ])?;
    let (status, body) = import_xlsx(&s, "enterprises", fixed).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 3, "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xlsx_file_that_inflates_past_the_bound_is_refused_unread() -> anyhow::Result<()> {
    use std::io::Write as _;
    let s = setup().await?;
    // A zip whose one part is 64 MiB of zeros: about 64 KB on the wire.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "xl/sharedStrings.xml",
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated),
    )?;
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        zip.write_all(&zeros)?;
    }
    let bytes = zip.finish()?.into_inner();
    assert!(bytes.len() < 1 << 20, "small on the wire: {}", bytes.len());

    let (status, body) = import_xlsx(&s, "org-units", bytes).await?;

    assert_eq!(status, 400, "{body}");
    let message = body["lines"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("inflates to over"), "{body}");
    Ok(())
}
