//! The audit log (审计日志) against the real server and command line on a real database file:
//! logins (failed and successful), a logout, an administrator's revocation and a disabled user
//! (through the running server's `/api/admin/…`) and a backup are each recorded in order with
//! who did them; `audit verify` finds the chain intact, `audit list --csv` exports it, and an
//! entry changed behind the server's back is named by `audit verify`.

use std::path::Path;
use std::process::{Command, Output};

use server::demo::DEMO_PASSWORD;
use shared::model::DeviceId;
use tests::device::id_bytes;
use tests::process::{ServerProcess, server_binary};
use tests::raw::login_raw;

fn cli(db: &Path, args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(server_binary()?)
        .args(args)
        .arg("--db")
        .arg(db)
        .env("NO_COLOR", "1")
        .env("USER", "it-admin")
        .env_remove("LIANXIN_DB")
        .output()?)
}

fn stdout(out: &Output) -> anyhow::Result<String> {
    anyhow::ensure!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `(actor, action, subject)` of each listed entry.
fn entries(listed: &str) -> Vec<(String, String, String)> {
    listed
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let at = |i: usize| c.get(i).copied().unwrap_or_default().to_string();
            (at(2), at(3), at(4))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_and_admin_action_is_recorded_in_order_and_tampering_is_found()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    stdout(&cli(&db, &["demo"])?)?;
    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let phone = DeviceId::from_random_bytes(id_bytes(2, 9));

    let (status, _) = login_raw(&server.url(), "officer1", "not the password", phone).await?;
    assert_eq!(status, 401);
    let (status, session) = login_raw(&server.url(), "officer1", DEMO_PASSWORD, phone).await?;
    assert_eq!(status, 200, "{session}");
    let device = session["device"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let logout = reqwest::Client::new()
        .post(format!("{}/api/logout", server.url()))
        .bearer_auth(session["token"].as_str().unwrap_or_default())
        .send()
        .await?;
    assert_eq!(logout.status(), 204);
    // The server runs, so the administrator revokes and disables through it (the command
    // line refuses to write the file under a running server).
    let it = DeviceId::from_random_bytes(id_bytes(2, 10));
    let (status, admin) = login_raw(&server.url(), "admin", DEMO_PASSWORD, it).await?;
    assert_eq!(status, 200, "{admin}");
    let admin = admin["token"].as_str().unwrap_or_default().to_string();
    for path in [
        format!("/api/admin/devices/{device}/revoke"),
        "/api/admin/users/officer2/disable".to_string(),
    ] {
        let done = reqwest::Client::new()
            .post(format!("{}{path}", server.url()))
            .bearer_auth(&admin)
            .send()
            .await?;
        assert_eq!(done.status(), 200, "{path}");
    }
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.display().to_string();
    stdout(&cli(&db, &["backup", "--to", &copy_arg])?)?;

    let listed = stdout(&cli(&db, &["audit", "list"])?)?;
    let got = entries(&listed);
    let actions: Vec<&str> = got.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "config_applied",
            "login_failed",
            "login",
            "logout",
            "login",
            "device_revoked",
            "user_disabled",
            "backed_up"
        ],
        "{listed}"
    );
    assert_eq!(got[0].0, "server");
    assert_eq!(
        got[1].2, "officer1",
        "the failed login names the login tried"
    );
    assert_eq!(
        (got[2].0.as_str(), got[2].2.as_str()),
        ("officer1", device.as_str())
    );
    assert_eq!(got[3].0, "officer1");
    assert_eq!(
        (got[5].0.as_str(), got[5].2.as_str()),
        ("admin", device.as_str())
    );
    assert_eq!(
        (got[6].0.as_str(), got[6].2.as_str()),
        ("admin", "officer2")
    );
    assert_eq!(got[7].0, "cli:it-admin");
    assert_eq!(got[7].2, copy_arg);

    let verified = stdout(&cli(&db, &["audit", "verify"])?)?;
    assert!(verified.contains("intact: 8 entries"), "{verified}");
    let csv = stdout(&cli(&db, &["audit", "list", "--csv"])?)?;
    assert!(
        csv.starts_with("\u{feff}seq,at,actor,action,subject,detail,hash\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 9, "{csv}");

    // Someone with the file drops the guard and rewrites who revoked the device.
    drop(server);
    let conn = rusqlite::Connection::open(&db)?;
    conn.execute_batch(
        "DROP TRIGGER audit_log_is_append_only_update; \
         UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 6;",
    )?;
    drop(conn);
    let out = cli(&db, &["audit", "verify"])?;
    assert!(!out.status.success(), "a tampered log verified");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken at entry 6"), "{err}");
    Ok(())
}
