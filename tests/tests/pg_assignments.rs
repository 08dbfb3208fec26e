//! The administrator moves an enterprise (包联) on a server on PostgreSQL (issue 16,
//! `POST /api/admin/assignments/{enterprise}/move|end`, as on SQLite): one of officer1's
//! enterprises moved to officer2 reaches officer2's phone at its next sync and leaves
//! officer1's; the move is audited as the administrator's and leaves officer2's the current
//! assignment; the same move again is refused (404) and an end ends it.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use shared::sync::protocol::DocId;
use tests::device::NativeDevice;
use tests::pg::{Throwaway, connect};
use tests::process::ServerProcess;
use tests::raw::demo_token;

/// The documents a phone holds.
fn held(phone: &NativeDevice) -> BTreeSet<DocId> {
    phone.client.replica().ids().cloned().collect()
}

/// Posts `body` to `/api{path}` as `token`; the status and the answer's JSON.
async fn post(base: &str, token: &str, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_moved_by_the_administrator_reaches_the_new_officers_phone()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let server = ServerProcess::start_postgres(&url, "127.0.0.1:0".parse()?, true, cwd.path())?;
    let base = server.url();
    let db = connect(&url).await?;
    let password = server::demo::DEMO_PASSWORD;
    let mut officer1 = NativeDevice::logged_in(1, &base, "officer1", password).await?;
    let mut officer2 = NativeDevice::logged_in(2, &base, "officer2", password).await?;
    officer1.sync().await?;
    officer2.sync().await?;

    let moved: String = db
        .query_one(
            "SELECT a.enterprise FROM assignments a JOIN users u ON u.id = a.user_id \
             WHERE u.login = 'officer1' AND a.valid_to IS NULL ORDER BY a.enterprise LIMIT 1",
            &[],
        )
        .await?
        .get(0);
    let docs: BTreeSet<DocId> = db
        .query("SELECT doc_id FROM docs WHERE enterprise = $1", &[&moved])
        .await?
        .iter()
        .map(|r| DocId::parse(r.get(0)).map_err(anyhow::Error::from))
        .collect::<anyhow::Result<_>>()?;
    assert!(
        !docs.is_empty(),
        "the demo enterprise {moved} has documents"
    );
    assert!(docs.is_subset(&held(&officer1)) && docs.is_disjoint(&held(&officer2)));

    let admin = demo_token(&base, "admin", 71).await?;
    let path = format!("/admin/assignments/{moved}/move");
    // Demo enterprises are looked after by a leader too: the move names whom it is from.
    let from_officer1 = json!({"to_officer": "officer2", "from": "officer1"});
    let (status, body) = post(&base, &admin, &path, from_officer1.clone()).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["to"], "officer2", "{body}");
    let current = |login: &'static str| {
        let (db, moved) = (&db, &moved);
        async move {
            let row = db
                .query_one(
                    "SELECT count(*) FROM assignments a JOIN users u ON u.id = a.user_id \
                     WHERE a.enterprise = $1 AND u.login = $2 AND a.valid_to IS NULL",
                    &[moved, &login],
                )
                .await?;
            anyhow::Ok(row.get::<_, i64>(0))
        }
    };
    assert_eq!(
        (current("officer1").await?, current("officer2").await?),
        (0, 1),
        "officer2's is the current assignment, officer1's ended"
    );
    let entry = db
        .query_one(
            "SELECT actor, detail FROM audit_log WHERE action = 'assignment_moved' \
             AND subject = $1",
            &[&moved],
        )
        .await?;
    assert_eq!(
        (entry.get::<_, String>(0), entry.get::<_, String>(1)),
        ("admin".to_string(), "officer1 -> officer2".to_string())
    );
    let (again, body) = post(&base, &admin, &path, from_officer1).await?;
    assert_eq!(again, 404, "officer1 no longer looks after it: {body}");

    // The re-scoped answer, then its acknowledgement, on each phone.
    for _ in 0..2 {
        officer1.sync().await?;
        officer2.sync().await?;
    }
    assert!(
        docs.is_subset(&held(&officer2)),
        "officer2's phone got the moved enterprise's documents"
    );
    assert!(
        docs.is_disjoint(&held(&officer1)),
        "officer1's phone still holds the moved enterprise's documents"
    );

    let end = format!("/admin/assignments/{moved}/end");
    let (status, body) = post(&base, &admin, &end, json!({})).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        current("officer2").await?,
        0,
        "the end ended officer2's: {body}"
    );
    Ok(())
}
