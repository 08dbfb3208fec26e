//! Scheduled backups: with a `[backup]` section the running server writes verified backups
//! (the database, passing `integrity_check`, and its blob files) into the directory on schedule,
//! keeps the newest `keep` of them and records each in the audit log; `lianxin-server backup
//! list` prints them; an administrator lists them and takes one now over HTTP, other roles are
//! refused; and a listed backup is what `restore --from` takes.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use server::store::SqliteStore;
use sha2::{Digest as _, Sha256};
use shared::model::{DeviceId, Role};
use tests::device::id_bytes;
use tests::district::{self, PASSWORD};
use tests::process::{ServerProcess, server_binary};
use tests::raw::login_raw;

fn cli(args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(server_binary()?)
        .args(args)
        .env_remove("LIANXIN_DB")
        .env_remove("LIANXIN_CONFIG")
        .output()?)
}

/// The rows of `backup list` (header left out).
fn listed(config: &Path) -> anyhow::Result<Vec<String>> {
    let out = cli(&["backup", "list", "--config", &config.display().to_string()])?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect())
}

/// How many scheduled backups the audit log records.
fn audited(db: &Path) -> anyhow::Result<usize> {
    let store = SqliteStore::open(db)?;
    Ok(store
        .audit_log(0, 1000)?
        .iter()
        .filter(|e| e.action == "backed_up" && e.actor == "server")
        .count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_takes_verified_backups_on_schedule_keeps_the_newest_and_an_admin_runs_one()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let backups = dir.path().join("backups");
    {
        let mut store = SqliteStore::open(&db)?;
        district::officer_in(&mut store, "wang", 0..2)?;
        let zone = district::org_unit(
            &mut store,
            district::ZONE,
            shared::model::OrgUnitKind::Zone,
            None,
        )?;
        district::user(&mut store, "it", Role::Admin, zone)?;
    }
    // A photo in the blob store, to be in every backup.
    let photo = b"a photo of the enterprise's gate".to_vec();
    let hash = hex(&Sha256::digest(&photo));
    let blobs = server::blobs::blob_dir(&db).join("sha256");
    std::fs::create_dir_all(&blobs)?;
    std::fs::write(blobs.join(&hash), &photo)?;
    let config = dir.path().join("district.toml");
    std::fs::write(
        &config,
        format!(
            "hotline = \"0391-12345\"\n[backup]\ndirectory = {:?}\nevery_hours = 0.0003\nkeep = 2\n",
            backups.display().to_string()
        ),
    )?;
    let server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &config)?;

    // About one a second: wait for three, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    while audited(&db)? < 3 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no three scheduled backups in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = listed(&config)?;
    assert!(
        (1..=2).contains(&rows.len()),
        "keep = 2, yet {} are listed: {rows:?}",
        rows.len()
    );
    for row in &rows {
        let path = row.split('\t').next_back().unwrap_or_default();
        let copy = rusqlite::Connection::open(path)?;
        let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        assert_eq!(check, "ok", "{path}");
        let users: i64 = copy.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        assert_eq!(users, 2, "{path}");
        assert!(
            server::blobs::blob_dir(Path::new(path))
                .join("sha256")
                .join(&hash)
                .exists(),
            "{path} lacks the photo"
        );
        assert_eq!(row.split('\t').nth(3), Some("1"), "one blob file: {row}");
    }

    // Over HTTP: the administrator lists and takes one now; an officer may not.
    let (status, admin) = login_raw(
        &server.url(),
        "it",
        PASSWORD,
        DeviceId::from_random_bytes(id_bytes(2, 91)),
    )
    .await?;
    assert_eq!(status, 200, "{admin}");
    let (status, officer) = login_raw(
        &server.url(),
        "wang",
        PASSWORD,
        DeviceId::from_random_bytes(id_bytes(2, 92)),
    )
    .await?;
    assert_eq!(status, 200, "{officer}");
    let http = reqwest::Client::new();
    let url = format!("{}/api/admin/backups", server.url());
    let token = |s: &serde_json::Value| s["token"].as_str().unwrap_or_default().to_string();
    let refused = http.get(&url).bearer_auth(token(&officer)).send().await?;
    assert_eq!(refused.status(), 403);
    let refused = http.post(&url).bearer_auth(token(&officer)).send().await?;
    assert_eq!(refused.status(), 403);
    let list: serde_json::Value = http
        .get(&url)
        .bearer_auth(token(&admin))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["keep"], 2, "{list}");
    assert!(
        list["backups"].as_array().is_some_and(|b| !b.is_empty()),
        "{list}"
    );
    let mut taken = None;
    for _ in 0..20 {
        let answer = http.post(&url).bearer_auth(token(&admin)).send().await?;
        match answer.status().as_u16() {
            200 => {
                taken = Some(answer.json::<serde_json::Value>().await?);
                break;
            }
            // The schedule's backup is running, or took this second's name.
            409 => tokio::time::sleep(Duration::from_millis(300)).await,
            other => anyhow::bail!("POST answered {other}: {}", answer.text().await?),
        }
    }
    let taken = taken.ok_or_else(|| anyhow::anyhow!("no backup taken on request"))?;
    assert_eq!(taken["blobs"], 1, "{taken}");
    let store = SqliteStore::open(&db)?;
    assert!(
        store
            .audit_log(0, 1000)?
            .iter()
            .any(|e| e.action == "backed_up" && e.actor == "it"),
        "the backup asked for is in the audit log"
    );
    drop(store);

    // A listed backup is what restore takes.
    server.kill9()?;
    let newest = listed(&config)?.last().cloned().unwrap_or_default();
    let path = newest
        .split('\t')
        .next_back()
        .unwrap_or_default()
        .to_string();
    let restored = cli(&[
        "restore",
        "--db",
        &db.display().to_string(),
        "--from",
        &path,
    ])?;
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(blobs.join(&hash).exists());
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
