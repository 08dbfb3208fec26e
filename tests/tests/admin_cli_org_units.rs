//! `lianxin-server org-units list|add|rename|move`, run as the real binary on a real database
//! file: units are added, renamed and put under another parent, each audit-logged as the
//! command line's; the list shows the tree indented with member counts; a cycle is refused
//! naming it and changes nothing; while a server runs on the file the writing commands are
//! refused naming it, and the list still works.

use std::path::Path;
use std::process::{Command, Output};

use server::store::SqliteStore;
use tests::process::{ServerProcess, server_binary};

fn run(db: &Path, args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(server_binary()?)
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("LIANXIN_DB")
        .env("USER", "it-admin")
        .output()?)
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

/// The list's rows as `(code, name as printed, parent, members)`.
fn rows(listed: &str) -> Vec<(String, String, String, String)> {
    listed
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let at = |i: usize| f.get(i).copied().unwrap_or_default().to_string();
            (at(0), at(1), at(3), at(5))
        })
        .collect()
}

#[test]
fn units_are_added_renamed_and_moved_from_the_command_line_and_a_cycle_is_refused()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    {
        let mut store = SqliteStore::open(&db)?;
        tests::district::officer_in(&mut store, "wang", 0..1)?;
    }
    let add = |code: &str, name: &str, kind: &str, parent: &str| {
        run(
            &db,
            &[
                "org-units",
                "add",
                "--code",
                code,
                "--name",
                name,
                "--kind",
                kind,
                "--parent",
                parent,
            ],
        )
    };
    assert!(ok(&add("xinqu", "新区", "town", "zone")?).contains("added xinqu (新区, town)"));
    ok(&add("xinqu-office", "新区办事处", "department", "xinqu")?);
    assert!(
        ok(&run(&db, &["org-units", "rename", "xinqu", "新区街道"])?)
            .contains("renamed xinqu to 新区街道")
    );

    let refused = failed(&run(
        &db,
        &["org-units", "move", "xinqu", "--parent", "xinqu-office"],
    )?);
    assert!(refused.contains("cycle"), "{refused}");
    ok(&run(
        &db,
        &["org-units", "move", "xinqu-office", "--parent", "town-1"],
    )?);

    let listed = rows(&ok(&run(&db, &["org-units", "list"])?));
    assert_eq!(
        listed,
        [
            ("zone".into(), "zone".into(), String::new(), "0".into()),
            (
                "town-1".into(),
                "  town-1".into(),
                "zone".into(),
                "1".into()
            ),
            (
                "xinqu-office".into(),
                "    新区办事处".into(),
                "town-1".into(),
                "0".into()
            ),
            (
                "xinqu".into(),
                "  新区街道".into(),
                "zone".into(),
                "0".into()
            ),
        ],
        "depth first, indented, with wang counted in town-1"
    );

    let store = SqliteStore::open(&db)?;
    let logged: Vec<(String, String, String)> = store
        .audit_log(0, 100)?
        .into_iter()
        .map(|e| (e.actor, e.action, e.subject))
        .collect();
    let entry = |action: &str, subject: &str| {
        (
            "cli:it-admin".to_string(),
            action.to_string(),
            subject.to_string(),
        )
    };
    assert_eq!(
        logged,
        [
            entry("org_unit_added", "xinqu"),
            entry("org_unit_added", "xinqu-office"),
            entry("org_unit_renamed", "xinqu"),
            entry("org_unit_moved", "xinqu-office"),
        ],
        "the refused move left no entry"
    );
    Ok(())
}

#[test]
fn writing_commands_are_refused_while_a_server_runs_and_the_list_works() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    {
        let mut store = SqliteStore::open(&db)?;
        tests::district::officer_in(&mut store, "wang", 0..1)?;
    }
    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;

    for args in [
        &["org-units", "rename", "town-1", "玉泉街道"][..],
        &[
            "org-units",
            "add",
            "--code",
            "b",
            "--name",
            "乙镇",
            "--kind",
            "town",
            "--parent",
            "zone",
        ],
        &["org-units", "move", "town-1", "--parent", "zone"],
    ] {
        let said = failed(&run(&db, args)?);
        assert!(
            said.contains(&format!("pid {}", server.pid()))
                && said.contains("/api/admin/org-units"),
            "{args:?}: {said}"
        );
    }
    let listed = rows(&ok(&run(&db, &["org-units", "list"])?));
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[1].1, "  town-1", "not renamed");

    server.kill9()?;
    ok(&run(&db, &["org-units", "rename", "town-1", "玉泉街道"])?);
    let listed = rows(&ok(&run(&db, &["org-units", "list"])?));
    assert_eq!(listed[1].1, "  玉泉街道");
    Ok(())
}
