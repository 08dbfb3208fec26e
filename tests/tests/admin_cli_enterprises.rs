//! `lianxin-server enterprises list|show|edit|merge|import` run as the binary (issue 17 item 1):
//! a merge is refused while a server runs on the file (naming it) and the list still works
//! beside it; with the server gone the edit, the merge and an .xlsx import go through and the
//! list and show print what they did.

use std::path::Path;
use std::process::{Command, Output};

use server::store::SqliteStore;
use tests::district::{self, credit_code, enterprise};
use tests::process::{ServerProcess, server_binary};

fn run(db: &Path, args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(server_binary()?)
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("LIANXIN_DB")
        .env_remove("LIANXIN_CONFIG")
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

fn ok(out: &Output) -> anyhow::Result<String> {
    anyhow::ensure!(out.status.success(), "failed: {}", text(out));
    Ok(text(out))
}

#[test]
fn enterprises_are_edited_and_merged_from_the_command_line_but_not_behind_a_server()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let code = credit_code(0)?;
    {
        let mut store = SqliteStore::open(&db)?;
        let town = district::town(&mut store, "town-1")?;
        district::profile(&mut store, 1, &code, "济源钢铁", town)?;
        district::profile(&mut store, 2, &code, "济源钢铁（重复）", town)?;
    }
    let (keep, absorb) = (enterprise(1).to_string(), enterprise(2).to_string());
    let merge = ["enterprises", "merge", "--keep", &keep, "--absorb", &absorb];

    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let refused = run(&db, &merge)?;
    assert!(
        !refused.status.success(),
        "merged behind the server: {}",
        text(&refused)
    );
    assert!(
        text(&refused).contains(&format!("pid {}", server.pid())),
        "{}",
        text(&refused)
    );
    let listed = ok(&run(&db, &["enterprises", "list", "--duplicates"])?)?;
    assert_eq!(
        listed.lines().count(),
        3,
        "a header and both duplicates: {listed}"
    );
    server.kill9()?;

    ok(&run(
        &db,
        &[
            "enterprises",
            "edit",
            &keep,
            "--add-contact",
            "赵强,总经理,0391-6612345",
            "--position",
            "35.1,112.6,10",
        ],
    )?)?;
    let shown = ok(&run(&db, &["enterprises", "show", &keep])?)?;
    assert!(shown.contains("赵强\t总经理\t0391-6612345"), "{shown}");
    assert!(shown.contains("position\t35.1,112.6,10"), "{shown}");
    let bad = run(
        &db,
        &[
            "enterprises",
            "edit",
            &keep,
            "--add-contact",
            "钱芳,主任,call me",
        ],
    )?;
    assert!(!bad.status.success(), "a bad phone: {}", text(&bad));

    let merged = ok(&run(&db, &merge)?)?;
    assert!(
        merged.contains(&format!("merged {absorb} into {keep}")),
        "{merged}"
    );
    let listed = ok(&run(&db, &["enterprises", "list"])?)?;
    assert!(
        listed.contains(&keep) && !listed.contains(&absorb),
        "{listed}"
    );

    // An .xlsx file, its first sheet holding the CSV's columns.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, v) in ["credit_code", "name", "town"].iter().enumerate() {
        sheet.write_string(0, u16::try_from(c)?, *v)?;
    }
    let new_code = credit_code(3)?;
    for (c, v) in [new_code.as_str(), "沁园食品", "town-1"].iter().enumerate() {
        sheet.write_string(1, u16::try_from(c)?, *v)?;
    }
    let file = dir.path().join("enterprises.xlsx");
    book.save(&file)?;
    let imported = ok(&run(
        &db,
        &["enterprises", "import", &file.display().to_string()],
    )?)?;
    assert!(imported.contains("1 enterprise(s)"), "{imported}");
    let listed = ok(&run(&db, &["enterprises", "list", "--q", "沁园"])?)?;
    assert!(listed.contains(&new_code), "{listed}");
    Ok(())
}
