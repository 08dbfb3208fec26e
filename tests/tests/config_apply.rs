//! A district changes its configuration while the server runs (issue 17 item 1, issue 15's bad
//! input), against the real server and a real SQLite file: applied through the admin API (or
//! re-read on SIGHUP by the real binary) it runs at once — `GET /api/config` answers it, a
//! phone syncing afterwards is told, fetches it and dates its problems by the new SLA — and is
//! kept in the file and the audit log; a file with errors is refused with every error and
//! changes nothing; a phone that still holds the older configuration may set a category only
//! that one had, while one declaring the new version (or none) may not.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use server::AppState;
use server::live_config::ConfigFile;
use server::sync::SyncService;
use shared::config::Config;
use shared::model::{DAY_MS, Role};
use shared::sync::protocol::Refusal;
use tests::TestServer;
use tests::admin::token;
use tests::device::NativeDevice;
use tests::district::{self, PASSWORD, enterprise};
use tests::process::ServerProcess;
use tests::raw::login_raw;

/// The district as it starts: the built-in categories (with 电力 `power`) and SLA.
const FIRST: &str = "hotline = \"0391-1234567\"\n";

/// The district after its change: two categories (`power` gone), another SLA.
const SECOND: &str = r#"hotline = "0391-1234567"

[[categories]]
code = "land"
zh = "土地要素"
en = "Land use"

[[categories]]
code = "energy"
zh = "能源保障"
en = "Energy supply"

[sla]
route_days = 2
first_feedback_days = 3
on_site_days = 1
routine_days = 10
major_days = 30
"#;

/// A file with two errors (a clock skew over the limit, a webhook channel without its url).
const BROKEN: &str = "hotline = \"0391-1234567\"\n[clock]\nallowed_skew_minutes = 5000\n\
                      [reminders]\nchannels = [\"webhook\"]\n";

fn district(text: &str) -> anyhow::Result<Config> {
    Ok(server::serve::parse_settings(text)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .0)
}

/// A server started with `FIRST` in a file, its administrator `it` and officer `wang`
/// (enterprise 1).
struct Running {
    server: TestServer,
    service: Arc<SyncService>,
    file: std::path::PathBuf,
    admin: String,
    _dir: tempfile::TempDir,
}

async fn start() -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lianxin.toml");
    std::fs::write(&file, FIRST)?;
    let (config, started) =
        server::serve::parse_settings(FIRST).map_err(|e| anyhow::anyhow!("{e}"))?;
    let service =
        SyncService::open(&dir.path().join("lianxin.db"), config)?.with_config_file(ConfigFile {
            path: file.clone(),
            started,
        });
    let service = Arc::new(service);
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    service
        .with_store(|s| -> anyhow::Result<()> {
            let town = district::town(s, "town-1")?;
            district::user(s, "it", Role::Admin, town)?;
            district::officer_in(s, "wang", [1])?;
            Ok(())
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    let admin = token(&server, "it", PASSWORD, 90).await?;
    Ok(Running {
        server,
        service,
        file,
        admin,
        _dir: dir,
    })
}

/// `POST /api/admin/config` with `text`: the status and the JSON answer.
async fn apply(base: &str, token: &str, text: &str) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/admin/config"))
        .bearer_auth(token)
        .header("content-type", "application/toml")
        .body(text.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or_default()))
}

/// What `GET /api/config` answers: the version (its `ETag`, unquoted) and the configuration.
async fn served(base: &str, token: &str) -> anyhow::Result<(String, Config)> {
    let response = reqwest::Client::new()
        .get(format!("{base}/api/config"))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "GET /api/config: {}",
        response.status()
    );
    let tag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    Ok((tag, serde_json::from_str(&response.text().await?)?))
}

/// The audit log's configuration changes: (actor, detail), oldest first.
async fn config_changes(service: &Arc<SyncService>) -> anyhow::Result<Vec<(String, String)>> {
    let log = service
        .with_reader(|s| s.audit_log(0, 1000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(log
        .into_iter()
        .filter(|e| e.action == "config_applied")
        .map(|e| (e.actor, e.detail))
        .collect())
}

#[tokio::test]
async fn an_applied_configuration_runs_at_once_reaches_the_phone_and_a_broken_one_changes_nothing()
-> anyhow::Result<()> {
    let r = start().await?;
    let base = r.server.url("");
    let mut phone = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    phone.sync().await?;
    phone.fetch_config().await?;
    let first = phone.config_version.clone().unwrap_or_default();
    assert!(phone.config.category("power").is_some());

    // An officer may not apply a configuration.
    let officer = phone.token.clone().unwrap_or_default();
    let (status, _) = apply(&base, &officer, SECOND).await?;
    assert_eq!(status, 403, "an officer applied a configuration");

    let (status, answer) = apply(&base, &r.admin, SECOND).await?;
    assert_eq!(status, 200, "{answer}");
    let second = answer["version"].as_str().unwrap_or_default().to_string();
    assert_eq!(answer["previous"], first.as_str());
    assert_ne!(second, first);

    // At once, without a restart, and kept in the file for the next one.
    let (version, served_config) = served(&base, &r.admin).await?;
    assert_eq!(version, second);
    assert_eq!(served_config, district(SECOND)?);
    assert_eq!(std::fs::read_to_string(&r.file)?, SECOND);

    // The phone's next sync announces it; the phone fetches it and works by it.
    phone.sync().await?;
    assert_eq!(phone.announced_config.as_deref(), Some(second.as_str()));
    phone.fetch_config().await?;
    assert_eq!(phone.config_version.as_deref(), Some(second.as_str()));
    let codes: Vec<&str> = phone
        .config
        .categories
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(codes, ["land", "energy"]);
    let owner = phone.actor.user;
    let id = phone.raise_problem(1, enterprise(1), owner, "energy")?;
    let problem = phone.problem(&id)?;
    assert_eq!(
        problem.deadline.0 - problem.created.at.0,
        10 * DAY_MS,
        "a department problem is due by the new SLA's routine_days"
    );
    phone.sync().await?;
    let status = phone.status();
    assert!(
        status.refused.is_empty() && status.waiting == 0,
        "{status:?}"
    );

    // A file with errors: every error listed, nothing changes.
    let (status, answer) = apply(&base, &r.admin, BROKEN).await?;
    assert_eq!(status, 422, "{answer}");
    let errors: Vec<String> = serde_json::from_value(answer["errors"].clone())?;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("allowed_skew_minutes")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("url")), "{errors:?}");
    assert_eq!(answer["version"], second.as_str());
    assert_eq!(served(&base, &r.admin).await?.0, second);
    assert_eq!(std::fs::read_to_string(&r.file)?, SECOND);

    // The audit log names who changed it, from which version to which — once.
    let changes = config_changes(&r.service).await?;
    assert_eq!(
        changes,
        vec![("it".to_string(), format!("{first} → {second}"))],
        "the configuration changes in the audit log"
    );
    Ok(())
}

#[tokio::test]
async fn a_phone_declaring_the_older_configuration_may_still_set_its_removed_category()
-> anyhow::Result<()> {
    let r = start().await?;
    let base = r.server.url("");
    // Three phones of wang's, each holding the first configuration (with `power`).
    let mut older = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    older.fetch_config().await?;
    let first = older.config_version.clone().unwrap_or_default();
    let mut newer = NativeDevice::logged_in(2, &base, "wang", PASSWORD).await?;
    let mut undeclared = NativeDevice::logged_in(3, &base, "wang", PASSWORD).await?;

    let (status, answer) = apply(&base, &r.admin, SECOND).await?;
    assert_eq!(status, 200, "{answer}");
    let second = answer["version"].as_str().unwrap_or_default().to_string();
    newer.config_version = Some(second);

    let owner = older.actor.user;
    for (n, phone) in [(1, &mut older), (2, &mut newer), (3, &mut undeclared)] {
        phone.raise_problem(n, enterprise(1), owner, "power")?;
        phone.sync().await?;
    }
    let refused_power = |phone: &mut NativeDevice| {
        let refused = phone.status().refused;
        refused.len() == 1
            && matches!(&refused[0].1, Refusal::Invalid(why) if why.contains("\"power\""))
    };
    let status = older.status();
    assert!(
        status.refused.is_empty() && status.waiting == 0,
        "declaring {first}, which had power: {status:?}"
    );
    assert!(
        refused_power(&mut newer),
        "declaring the new version: {:?}",
        newer.status()
    );
    assert!(
        refused_power(&mut undeclared),
        "declaring nothing: {:?}",
        undeclared.status()
    );
    Ok(())
}

/// Polls `GET /api/config` until it answers a version other than `than` (at most 10 s).
async fn next_version(base: &str, token: &str, than: &str) -> anyhow::Result<(String, Config)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (version, config) = served(base, token).await?;
        if version != than {
            return Ok((version, config));
        }
        anyhow::ensure!(Instant::now() < deadline, "still version {than} after 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn hangup(server: &ServerProcess) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -HUP failed");
    Ok(())
}

fn seed(db: &Path) -> anyhow::Result<()> {
    let mut store = server::store::SqliteStore::open(db)?;
    district::officer_in(&mut store, "wang", [1])?;
    Ok(())
}

#[tokio::test]
async fn sighup_reloads_the_file_and_a_broken_file_keeps_the_running_configuration()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, file) = (
        dir.path().join("lianxin.db"),
        dir.path().join("lianxin.toml"),
    );
    std::fs::write(&file, FIRST)?;
    seed(&db)?;
    let server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &file)?;
    let base = server.url();
    let device = shared::model::DeviceId::from_random_bytes([9; 16]);
    let (status, body) = login_raw(&base, "wang", PASSWORD, device).await?;
    anyhow::ensure!(status == 200, "login: {status} {body}");
    let token = body["token"].as_str().unwrap_or_default().to_string();
    let (first, _) = served(&base, &token).await?;

    std::fs::write(&file, SECOND)?;
    hangup(&server)?;
    let (second, config) = next_version(&base, &token, &first).await?;
    assert_eq!(config, district(SECOND)?);

    std::fs::write(&file, BROKEN)?;
    hangup(&server)?;
    // The log says why, naming every error; the running configuration stays.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server
        .log()
        .iter()
        .any(|l| l.contains("running configuration stays"))
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no refusal logged: {:?}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = server.log().join("\n");
    assert!(log.contains("allowed_skew_minutes"), "{log}");
    assert!(log.contains("url"), "{log}");
    assert_eq!(served(&base, &token).await?.0, second);
    drop(server);

    // The audit log has the reload, by the server, from the first version to the second.
    let store = server::store::SqliteStore::open(&db)?;
    let changes: Vec<String> = store
        .audit_log(0, 1000)?
        .into_iter()
        .filter(|e| e.action == "config_applied")
        .map(|e| format!("{}: {}", e.actor, e.detail))
        .collect();
    assert_eq!(
        changes,
        vec![
            format!("server: {first}"),
            format!("server (SIGHUP): {first} → {second}")
        ]
    );
    Ok(())
}
