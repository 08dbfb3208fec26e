//! The administrator's command line, run as the real `lianxin-server` binary on a real
//! database file: set up a district from CSV, add a user (password on standard input), see
//! their device after they log in to the running server, revoke it, reset a password, back up
//! while serving, and restore only once the server is stopped.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use shared::model::{CreditCode, DeviceId};
use tests::device::id_bytes;
use tests::process::{ServerProcess, server_binary};
use tests::raw::login_raw;

fn run(db: &Path, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Output> {
    let mut command = Command::new(server_binary()?);
    command.args(args);
    if args.first() != Some(&"config") {
        command.arg("--db").arg(db);
    }
    let mut child = command
        .env("NO_COLOR", "1")
        .env_remove("LIANXIN_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(mut pipe), Some(text)) = (child.stdin.take(), stdin) {
        pipe.write_all(text.as_bytes())?;
    }
    Ok(child.wait_with_output()?)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(n: u32) -> String {
    CreditCode::from_parts('9', '1', "419001", &format!("{:08}", 30_000_000 + n))
        .expect("a valid credit code")
        .as_str()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sets_up_a_district_and_manages_people_and_devices() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let file = |name: &str, text: &str| -> anyhow::Result<String> {
        let path = dir.path().join(name);
        std::fs::write(&path, text)?;
        Ok(path.display().to_string())
    };

    let units = file(
        "units.csv",
        "code,name,kind,parent\njiyuan,济源示范区,zone,\nyuquan,玉泉街道,town,jiyuan\n",
    )?;
    assert!(ok(&run(&db, &["org-units", "import", &units], None)?).contains("imported 2"));

    let add = [
        "users",
        "add",
        "--login",
        "wang",
        "--name",
        "王芳",
        "--role",
        "officer",
        "--org-unit",
        "yuquan",
        "--password-stdin",
    ];
    assert!(ok(&run(&db, &add, Some("first-password\n"))?).contains("added wang"));
    assert!(failed(&run(&db, &add, Some("first-password\n"))?).contains("exists already"));
    let mut short = add;
    short[3] = "li";
    assert!(failed(&run(&db, &short, Some("short\n"))?).contains("at least 10"));
    let list = ok(&run(&db, &["users", "list"], None)?);
    assert!(
        list.contains("wang\t王芳\tofficer\tyuquan\tactive"),
        "{list}"
    );
    assert!(!list.contains("first-password"));

    let bad = file(
        "bad.csv",
        &format!(
            "credit_code,name,town\n{},甲公司,yuquan\n{}X,乙公司,yuquan\n",
            code(1),
            code(2)
        ),
    )?;
    let err = failed(&run(&db, &["enterprises", "import", &bad], None)?);
    assert!(err.contains("line 3: credit code"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let good = file(
        "good.csv",
        &format!(
            "credit_code,name,town\n{},甲公司,yuquan\n{},乙公司,yuquan\n",
            code(1),
            code(2)
        ),
    )?;
    assert!(ok(&run(&db, &["enterprises", "import", &good], None)?).contains("imported 2"));
    let assignments = file(
        "assignments.csv",
        &format!(
            "credit_code,login,valid_from\n{},wang,2020-01-01\n",
            code(1)
        ),
    )?;
    assert!(ok(&run(&db, &["assignments", "import", &assignments], None)?).contains("imported 1"));

    let shown = ok(&run(&db, &["config", "show"], None)?);
    assert!(shown.contains("[[categories]]"), "{shown}");
    // Without a file, the demo district's configuration.
    let version = server::published_config::PublishedConfig::new(&shared::config::Config::demo());
    assert!(
        shown.starts_with(&format!("# version {}", version.version())),
        "{shown}"
    );
    let valid = ok(&run(&db, &["config", "validate"], None)?);
    assert!(valid.contains(version.version()), "{valid}");
    let bad_config = file("bad.toml", "categories = []\n")?;
    let err = failed(&run(
        &db,
        &["config", "validate", "--config", &bad_config],
        None,
    )?);
    assert!(err.contains("at least one problem category"), "{err}");

    // Wang logs in to the running server; the administrator sees and revokes the device.
    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let phone = DeviceId::from_random_bytes(id_bytes(2, 1));
    let (status, session) = login_raw(&server.url(), "wang", "first-password", phone).await?;
    assert_eq!(status, 200, "{session}");
    let devices = ok(&run(&db, &["devices", "list", "--user", "wang"], None)?);
    assert!(
        devices.contains(&phone.to_string()) && devices.contains("active"),
        "{devices}"
    );
    // Writing commands wait until the server is stopped (`cli_while_serving.rs`).
    server.kill9()?;
    ok(&run(&db, &["devices", "revoke", &phone.to_string()], None)?);
    ok(&run(
        &db,
        &["users", "reset-password", "wang", "--password-stdin"],
        Some("second-password\n"),
    )?);
    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let me = reqwest::Client::new()
        .get(format!("{}/api/me", server.url()))
        .bearer_auth(session["token"].as_str().unwrap_or_default())
        .send()
        .await?;
    assert_eq!(me.status(), 401);
    let body: serde_json::Value = me.json().await?;
    assert_eq!(body["error"], "device_revoked");
    let (status, _) = login_raw(&server.url(), "wang", "first-password", phone).await?;
    assert_eq!(status, 401);
    let (status, _) = login_raw(&server.url(), "wang", "second-password", phone).await?;
    assert_eq!(status, 200);

    // Backup while serving; restore waits until the server is stopped.
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.display().to_string();
    ok(&run(&db, &["backup", "--to", &copy_arg], None)?);
    let err = failed(&run(&db, &["restore", "--from", &copy_arg], None)?);
    assert!(err.contains("is running on"), "{err}");
    server.kill9()?;
    assert!(ok(&run(&db, &["restore", "--from", &copy_arg], None)?).contains("restored"));
    let list = ok(&run(&db, &["users", "list"], None)?);
    assert!(list.contains("wang"), "{list}");

    ok(&run(&db, &["users", "disable", "wang"], None)?);
    let list = ok(&run(&db, &["users", "list"], None)?);
    assert!(list.contains("disabled"), "{list}");
    ok(&run(&db, &["users", "enable", "wang"], None)?);
    let list = ok(&run(&db, &["users", "list"], None)?);
    assert!(!list.contains("disabled"), "{list}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_name_with_control_characters_cannot_forge_a_row_of_devices_list()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    tests::seed_demo(&service).await?;
    let server =
        tests::TestServer::start(server::AppState::new(dir.path().join("no-site"), service))
            .await?;
    let hostile = "王磊的手机\nforged-device\tadmin\tx\u{1b}[2J";
    let phone = DeviceId::from_random_bytes(id_bytes(2, 7));
    let login = reqwest::Client::new()
        .post(server.url("/api/login"))
        .json(&serde_json::json!({
            "login": "officer1",
            "password": "lianxin-demo",
            "device_id": phone.to_string(),
            "device_name": hostile,
        }))
        .send()
        .await?;
    assert_eq!(login.status(), 200);

    let listed = ok(&run(
        &dir.path().join("lianxin.db"),
        &["devices", "list", "--user", "officer1"],
        None,
    )?);
    assert!(
        listed.lines().all(|l| l.split('\t').count() == 6),
        "a row was broken or forged: {listed}"
    );
    let row = listed
        .lines()
        .find(|l| l.starts_with(&phone.to_string()))
        .ok_or_else(|| anyhow::anyhow!("the phone is not listed: {listed}"))?;
    assert!(
        row.contains("王磊的手机\\u{a}forged-device\\u{9}admin"),
        "{row}"
    );
    assert!(!listed.contains('\u{1b}'), "{listed}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_import_refuses_a_file_naming_each_bad_line_then_adds_all_and_prints_their_passwords()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let units = dir.path().join("units.csv");
    std::fs::write(
        &units,
        "code,name,kind,parent\njiyuan,济源示范区,zone,\nyuquan,玉泉街道,town,jiyuan\n",
    )?;
    ok(&run(
        &db,
        &["org-units", "import", &units.display().to_string()],
        None,
    )?);
    let users = dir.path().join("users.csv");
    let bad = "login,name,role,org_unit,password\nli,李娜,officer,yuquan,\nzhao,赵强,boss,yuquan,\nqian,钱多,officer,nowhere,\n";
    std::fs::write(&users, bad)?;

    let refused = failed(&run(
        &db,
        &["users", "import", &users.display().to_string()],
        None,
    )?);
    assert!(
        refused.contains("line 3") && refused.contains("line 4"),
        "{refused}"
    );
    assert!(
        !ok(&run(&db, &["users", "list"], None)?).contains("li\t"),
        "nobody added"
    );

    std::fs::write(
        &users,
        bad.replace("boss", "leader").replace("nowhere", "yuquan"),
    )?;
    let out = ok(&run(
        &db,
        &["users", "import", &users.display().to_string()],
        None,
    )?);
    assert!(
        out.contains("imported 3 user(s), 3 password(s) generated"),
        "{out}"
    );
    let printed: Vec<&str> = out.lines().filter(|l| l.starts_with("qian\t")).collect();
    assert_eq!(printed.len(), 1, "qian's password is printed once: {out}");
    let listed = ok(&run(&db, &["users", "list"], None)?);
    assert!(
        listed.contains("zhao") && listed.contains("qian"),
        "{listed}"
    );
    Ok(())
}
