//! A command that writes the database is refused while a server runs on it, with a message
//! naming the server's process id, and writes nothing; commands that only read keep working
//! beside the server. Once the server is gone the same command goes through.

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

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_writing_command_is_refused_naming_the_running_server_and_a_reading_one_works()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    {
        let mut store = SqliteStore::open(&db)?;
        tests::district::officer_in(&mut store, "wang", 0..2)?;
    }
    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;

    let refused = run(&db, &["users", "disable", "wang"])?;
    let said = text(&refused);
    assert!(!refused.status.success(), "disabling went through: {said}");
    assert!(
        said.contains(&format!("pid {}", server.pid())),
        "the refusal does not name the server's process: {said}"
    );
    assert!(said.contains("stop the server"), "{said}");

    // Reading beside the server: the user is still active, the audit log still verifies.
    let list = run(&db, &["users", "list"])?;
    assert!(list.status.success(), "{}", text(&list));
    let listed = text(&list);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("wang\t") && l.contains("active")),
        "{listed}"
    );
    let verify = run(&db, &["audit", "verify"])?;
    assert!(verify.status.success(), "{}", text(&verify));

    server.kill9()?;
    let done = run(&db, &["users", "disable", "wang"])?;
    assert!(done.status.success(), "{}", text(&done));
    let listed = text(&run(&db, &["users", "list"])?);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("wang\t") && l.contains("disabled")),
        "{listed}"
    );
    Ok(())
}
