//! The administrator's imports and backups, through the same functions the command line calls,
//! on real SQLite files: a CSV file with errors reports each with its line number and imports
//! nothing; a good file imports everything, enterprises as profile documents that officers'
//! phones then receive; backup → restore gives back identical data.

use server::AppState;
use server::admin::{self, AdminError};
use server::store::SqliteStore;
use shared::model::{CreditCode, Timestamp};
use shared::sync::server::ServerStore;
use tests::TestServer;
use tests::device::NativeDevice;

const NOW: Timestamp = Timestamp(1_790_000_000_000);

fn code(n: u32) -> String {
    CreditCode::from_parts('9', '1', "419001", &format!("{:08}", 20_000_000 + n))
        .expect("a valid credit code")
        .as_str()
        .to_string()
}

const ORG_UNITS: &str = "code,name,kind,parent\n\
    jiyuan,济源示范区,zone,\n\
    yuquan,玉泉街道,town,jiyuan\n\
    kejing,克井镇,town,jiyuan\n\
    gxj,工业和信息化局,department,jiyuan\n";

fn enterprises_csv() -> String {
    format!(
        "credit_code,name,address,town,industry,size,key_enterprise,lat,lon\n\
         {},济源市恒通精密机械有限公司,玉泉街道工业路1号,yuquan,装备制造,above,yes,35.09,112.60\n\
         {},济源市宏达新材料有限公司,克井镇产业园,kejing,新材料,below,no,,\n\
         {},济源市永兴食品有限公司,玉泉街道,yuquan,食品加工,规上,是,,\n",
        code(1),
        code(2),
        code(3)
    )
}

fn lines(e: AdminError) -> Vec<u64> {
    match e {
        AdminError::Lines(lines) => lines.iter().map(|l| l.line).collect(),
        other => panic!("expected line errors, got {other}"),
    }
}

#[test]
fn a_file_with_errors_reports_each_with_its_line_number_and_imports_nothing() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut store = SqliteStore::open(&dir.path().join("lianxin.db"))?;
    admin::import_org_units(&mut store, ORG_UNITS)?;
    let before = store.projection_dump()?;

    let mut bad_code = code(5);
    bad_code.pop();
    bad_code.push(if code(5).ends_with('0') { '1' } else { '0' });
    let text = format!(
        "credit_code,name,address,town,industry,size,key_enterprise,lat,lon\n\
         {good},好企业有限公司,地址,yuquan,制造,above,no,,\n\
         {bad_code},校验位错误有限公司,地址,yuquan,制造,above,no,,\n\
         {good},重复的信用代码,地址,yuquan,制造,above,no,,\n\
         {other},没有这个镇,地址,nowhere,制造,above,no,,\n\
         {third},规模写错,地址,yuquan,制造,huge,maybe,91,500\n\
         {fourth},,地址,gxj,制造,above,no,,\n",
        good = code(4),
        other = code(6),
        third = code(7),
        fourth = code(8),
    );
    let err = admin::import_enterprises(&mut store, &text, NOW).expect_err("the file has errors");
    let message = err.to_string();
    assert_eq!(lines(err), vec![3, 4, 5, 6, 6, 6, 7, 7], "{message}");
    assert!(message.contains("line 3: credit code"), "{message}");
    assert!(
        message.contains("line 4: credit code") && message.contains("twice"),
        "{message}"
    );
    assert!(message.contains("line 5: no town \"nowhere\""), "{message}");
    assert!(
        message.contains("line 7: \"gxj\" is a department"),
        "{message}"
    );
    assert!(message.contains("nothing was imported"), "{message}");
    assert_eq!(store.projection_dump()?, before, "nothing imported");
    assert_eq!(store.doc_count()?, 0);

    let err = admin::import_org_units(
        &mut store,
        "code,name,kind,parent\nnew-town,新镇,town,missing\n,无代码,zone,\nx,X,city,\n",
    )
    .expect_err("bad org units");
    assert_eq!(lines(err), vec![2, 3, 4]);
    assert!(store.org_unit_by_code("new-town")?.is_none());

    let err = admin::import_org_units(&mut store, "code,title\na,b\n").expect_err("bad header");
    assert_eq!(lines(err), vec![1, 1, 1]);

    let err = admin::import_assignments(
        &mut store,
        &format!(
            "credit_code,login,valid_from,valid_to\n{},nobody,2026-03-01,\n{},nobody,yesterday,2026-01-01\n",
            code(1),
            code(2)
        ),
    )
    .expect_err("bad assignments");
    assert_eq!(lines(err), vec![2, 2, 3, 3, 3]);
    assert!(store.list_assignments()?.is_empty());
    Ok(())
}

#[test]
fn an_org_units_file_that_would_put_a_unit_under_itself_or_below_it_is_refused_whole()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut store = SqliteStore::open(&dir.path().join("lianxin.db"))?;
    admin::import_org_units(&mut store, ORG_UNITS)?;
    let before = store.list_org_units()?;

    // Line 2 adds a department under the town yuquan; line 3 moves yuquan under that new
    // department: each would be under itself. Line 4 is fine on its own.
    let err = admin::import_org_units(
        &mut store,
        "code,name,kind,parent
         yq-office,玉泉办事处,department,yuquan
         yuquan,玉泉街道,town,yq-office
         kejing,克井镇,town,jiyuan
",
    )
    .expect_err("a cycle");
    let message = err.to_string();
    assert_eq!(lines(err), vec![2, 3], "{message}");
    assert!(message.contains("cycle"), "{message}");
    assert_eq!(store.list_org_units()?, before, "nothing imported");
    Ok(())
}

#[tokio::test]
async fn a_good_file_imports_everything_and_officers_receive_the_enterprises_by_sync()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    {
        let mut store = SqliteStore::open(&db)?;
        assert_eq!(admin::import_org_units(&mut store, ORG_UNITS)?, 4);
        let report = admin::import_enterprises(&mut store, &enterprises_csv(), NOW)?;
        assert_eq!((report.imported, report.present), (3, 0));
        let again = admin::import_enterprises(&mut store, &enterprises_csv(), NOW)?;
        assert_eq!(
            (again.imported, again.present),
            (0, 3),
            "re-importing changes nothing"
        );
        // Three profiles and the monitoring documents of the two key enterprises.
        assert_eq!(store.doc_count()?, 5);
        let rows = store.projection_dump()?;
        assert!(
            rows.iter()
                .any(|r| r.contains("济源市恒通精密机械有限公司") && r.contains(&code(1))),
            "{rows:#?}"
        );

        let town = store.org_unit_by_code("yuquan")?.expect("imported").unit.id;
        tests::district::user(&mut store, "wang", shared::model::Role::Officer, town)?;
        let n = admin::import_assignments(
            &mut store,
            &format!(
                "credit_code,login,valid_from,valid_to\n{},wang,2020-01-01,\n{},wang,2020-01-01,2020-06-01\n",
                code(1),
                code(3)
            ),
        )?;
        assert_eq!(n, 2);
        let wang = store.find_user_by_login("wang")?.expect("added").user.id;
        let active = store.active_assignments(wang, NOW)?;
        let e1 = store
            .enterprise_by_credit_code(&code(1))?
            .expect("imported");
        assert_eq!(
            active.into_iter().collect::<Vec<_>>(),
            vec![e1],
            "the ended one is not active"
        );
        assert_eq!(
            admin::parse_date("2026-03-01"),
            Some(Timestamp(1_772_294_400_000)),
            "midnight in China"
        );
    }
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let mut wang =
        NativeDevice::logged_in(1, &server.url(""), "wang", tests::district::PASSWORD).await?;
    wang.sync().await?;
    assert_eq!(
        wang.client.replica().len(),
        2,
        "the one enterprise assigned now: its profile and (a key enterprise) its monitoring"
    );
    Ok(())
}

#[tokio::test]
async fn backup_then_restore_gives_back_identical_data() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let copy = dir.path().join("backup.db");
    {
        let mut store = SqliteStore::open(&db)?;
        admin::import_org_units(&mut store, ORG_UNITS)?;
        admin::import_enterprises(&mut store, &enterprises_csv(), NOW)?;
        tests::district::officer_in(&mut store, "wang", 0..5)?;
    }
    // Records written by a phone through a running server, then a backup while it runs.
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let mut wang =
        NativeDevice::logged_in(1, &server.url(""), "wang", tests::district::PASSWORD).await?;
    for n in 0..20 {
        wang.record_visit(tests::district::enterprise(n % 5), &format!("走访{n}"))?;
    }
    wang.sync().await?;
    admin::backup(&db, &copy)?;
    let snapshot = |store: &mut SqliteStore| -> anyhow::Result<_> {
        Ok((
            store.projection_dump()?,
            store.directory_dump()?,
            store.doc_count()?,
            store.change_count()?,
            store.latest_seq()?,
        ))
    };
    let at_backup = service
        .with_store(snapshot)
        .await
        .expect("the store thread ran")?;
    // Three profiles, two monitoring documents (key enterprises), twenty visits.
    assert_eq!(at_backup.2, 25);

    // More work after the backup.
    for n in 20..30 {
        wang.record_visit(tests::district::enterprise(n % 5), &format!("走访{n}"))?;
    }
    wang.sync().await?;

    // Restore refuses while the server holds the file.
    let refused = admin::restore(&db, &copy, false).expect_err("a server is running");
    assert!(refused.to_string().contains("a server (pid"), "{refused}");
    drop(wang);
    drop(server);
    drop(service);
    // The aborted server's connection tasks let go of the store (and its lock) shortly.
    for _ in 0..100 {
        if admin::lock_db(&db)?.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    admin::restore(&db, &copy, false)?;
    let mut restored = SqliteStore::open(&db)?;
    assert_eq!(restored.integrity_check()?, "ok");
    assert_eq!(snapshot(&mut restored)?, at_backup, "identical data");

    // A damaged backup is refused and the database is left as it was.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database")?;
    drop(restored);
    assert!(admin::restore(&db, &junk, false).is_err());
    let mut still = SqliteStore::open(&db)?;
    assert_eq!(snapshot(&mut still)?, at_backup);
    Ok(())
}
