//! `lianxin-server migrate` (`pg/migrate.rs`): the demo district's SQLite file, seeded as
//! `lianxin-server demo` seeds it (real passwords), with a session token and a bulletin
//! added, copied into a throwaway PostgreSQL database. Then both answer the API's questions
//! alike; a second copy into the now non-empty database is refused; a copy broken before its
//! verification is refused and leaves the target empty.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shared::config::{CheckInRules, Config};
use shared::model::{DAY_MS, Role, Timestamp};
use shared::sync::validate::Scope;

use super::throwaway::Throwaway;
use crate::api::{Breakdown, BreakdownQuery, MAX_PAGE, ProblemFilter, Unit, VisitFilter};
use crate::db::{Bulletins, Directory, NewBulletin, Queries, Tokens, compose};
use crate::pg::PgDb;
use crate::pg::migrate::{MigrateError, migrate_into};
use crate::store::{SqliteDb, SqliteStore, TokenHash, TokenKind};

/// When the demo district is made and read.
pub(super) const NOW: Timestamp = Timestamp(1_795_000_000_000);

/// The token stored for officer1's phone before the copy.
const TOKEN: TokenHash = TokenHash([7; 32]);

/// The demo district in a SQLite file, with officer1's phone holding a token and one bulletin.
pub(super) async fn demo_file(dir: &Path) -> PathBuf {
    let path = dir.join("lianxin.db");
    let mut store = SqliteStore::open(&path).expect("open");
    crate::demo::seed(&mut store, &Config::demo(), NOW).expect("the demo district");
    drop(store);
    let db = Arc::new(SqliteDb::open(&path, None).expect("open"));
    let (_, people) = db.listing().await.expect("listing");
    let officer = people
        .iter()
        .find(|p| p.user.login == "officer1")
        .expect("officer1");
    let phone = db
        .own_devices(officer.user.id)
        .await
        .expect("devices")
        .first()
        .expect("officer1's phone")
        .device
        .id;
    db.store_token(
        TOKEN,
        phone,
        TokenKind::Access,
        NOW,
        Timestamp(NOW.0 + 365 * DAY_MS),
    )
    .await
    .expect("token");
    let leader = people
        .iter()
        .find(|p| p.user.role == Role::Leader)
        .expect("a leader");
    let new = NewBulletin {
        title: "本月通报".into(),
        from: Timestamp(NOW.0 - 30 * DAY_MS),
        to: NOW,
        now: NOW,
        by: leader.user.id,
        login: leader.user.login.clone(),
        check_in: CheckInRules::default(),
    };
    let bulletin = compose(&db, &db, &new).await.expect("composed");
    db.issue(bulletin, new.login).await.expect("issued");
    path
}

pub(super) async fn empty_target() -> (Throwaway, PgDb) {
    let (throwaway, config) = Throwaway::create().await;
    let db = PgDb::open(config).await.expect("open the test database");
    (throwaway, db)
}

pub(super) async fn copy(from: &Path, to: &PgDb, tamper: Option<&str>) -> Result<(), MigrateError> {
    migrate_into(from, to, |_, _| {}, tamper.map(String::from))
        .await
        .map(drop)
}

/// The API's answers over one backend, as text: KPIs, breakdowns, problem and visit lists,
/// enterprise timelines, the directory, bulletins.
async fn answers<D>(db: &D) -> Vec<String>
where
    D: Queries + Directory + Bulletins + Tokens,
{
    let config = Arc::new(Config::demo());
    let from = Timestamp(NOW.0 - 90 * DAY_MS);
    let mut out = vec![format!("feed {:?}", db.feed_position().await)];
    let (units, people) = db.listing().await.expect("listing");
    out.push(format!("units {units:?}"));
    out.push(format!(
        "people {:?}",
        people
            .iter()
            .map(|p| (&p.user, p.disabled, &p.password_hash.0))
            .collect::<Vec<_>>()
    ));
    let mut scopes = vec![Unit::Zone];
    scopes.extend(units.iter().map(|u| match u.unit.kind {
        shared::model::OrgUnitKind::Town => Unit::Town(u.unit.id),
        _ => Unit::Department(u.unit.id),
    }));
    for unit in scopes {
        let kpis = db.kpis(unit, from, NOW, NOW, CheckInRules::default()).await;
        out.push(format!("kpis {unit:?} {kpis:?}"));
        for by in [Breakdown::Category, Breakdown::Tier, Breakdown::Town] {
            let query = BreakdownQuery {
                unit,
                by,
                from,
                to: NOW,
                utc_offset_minutes: 480,
            };
            let rows = db.breakdown(query, NOW, config.clone()).await;
            out.push(format!("breakdown {unit:?} {rows:?}"));
        }
    }
    let problems = db
        .problems(
            Scope::All,
            ProblemFilter {
                limit: MAX_PAGE,
                ..ProblemFilter::default()
            },
            config.clone(),
            NOW,
        )
        .await;
    // Each listed problem's enterprise timeline (visits, problems, ratings).
    let enterprises: std::collections::BTreeSet<String> = problems
        .as_ref()
        .map(|p| p.rows.iter().map(|r| r.enterprise.clone()).collect())
        .unwrap_or_default();
    for enterprise in enterprises {
        let id = enterprise.parse().expect("an enterprise id");
        let timeline = db.timeline(id, Scope::All).await;
        out.push(format!("timeline {enterprise} {timeline:?}"));
    }
    out.push(format!("problems {problems:?}"));
    let visits = db
        .visits(
            Scope::All,
            VisitFilter {
                limit: MAX_PAGE,
                ..VisitFilter::default()
            },
            CheckInRules::default(),
        )
        .await;
    out.push(format!("visits {visits:?}"));
    out.push(format!("bulletins {:?}", db.list().await));
    out.push(format!("bulletin {:?}", db.get(1).await));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migrated_demo_district_answers_as_sqlite_did() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = demo_file(dir.path()).await;
    let (_throwaway, pg) = empty_target().await;
    copy(&file, &pg, None).await.expect("migrated");
    let lite = Arc::new(SqliteDb::open(&file, None).expect("open"));
    let (want, got) = (answers(&lite).await, answers(&pg).await);
    assert!(
        !want.iter().any(|a| a.contains("Err("))
            && want.iter().any(|a| a.starts_with("bulletin Ok(Some(")),
        "every question answered on SQLite: {want:#?}"
    );
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g, "the same answer on PostgreSQL");
    }
    // officer1 logs in with the demo password, and the phone's token still opens requests.
    let token = pg
        .lookup_token(TOKEN)
        .await
        .expect("lookup")
        .expect("the token was copied");
    assert_eq!(token.user.user.login, "officer1");
    assert!(!token.revoked && token.expires_at > NOW);
    assert!(crate::auth::password::verify(
        &crate::auth::Secret::new(crate::demo::DEMO_PASSWORD),
        &token.user.password_hash
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_migration_into_the_filled_database_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = demo_file(dir.path()).await;
    let (_throwaway, pg) = empty_target().await;
    copy(&file, &pg, None).await.expect("migrated");
    let again = copy(&file, &pg, None).await;
    assert!(
        matches!(again, Err(MigrateError::NotEmpty { .. })),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_whose_change_is_broken_is_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = demo_file(dir.path()).await;
    let (_throwaway, pg) = empty_target().await;
    let broken = copy(
        &file,
        &pg,
        Some(
            "UPDATE changes SET device_time = device_time + 1 \
             WHERE (doc_id, hash) = (SELECT doc_id, hash FROM changes LIMIT 1)",
        ),
    )
    .await;
    match broken {
        Err(MigrateError::Mismatch(why)) => {
            assert!(why.contains("its change rows differ"), "{why}")
        }
        other => panic!("the broken copy was accepted: {other:?}"),
    }
    let left = pg
        .query_raw("SELECT COUNT(*) FROM docs")
        .await
        .expect("count");
    assert_eq!(
        left[0].count(0).expect("a count"),
        0,
        "the target is left empty"
    );
    // And so it takes a clean copy afterwards.
    copy(&file, &pg, None).await.expect("migrated");
}

/// The blobs' bookkeeping moves with the district: an upload's row (what it charged to the
/// daily budget, whether it finished) and which records reference a photo read the same on
/// PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_and_a_photos_references_move_with_the_district() {
    use crate::blobs::BlobHash;
    use crate::db::{BlobRecords, Opening, UploadRow};
    let dir = tempfile::tempdir().expect("temp dir");
    let file = demo_file(dir.path()).await;
    let lite = Arc::new(SqliteDb::open(&file, None).expect("open"));
    let (_, people) = lite.listing().await.expect("listing");
    let officer = people
        .iter()
        .find(|p| p.user.login == "officer1")
        .expect("officer1");
    let photo = BlobHash::of(b"a photo of the workshop");
    let upload = UploadRow {
        id: "0123456789abcdef0123456789abcdef".into(),
        user: officer.user.id,
        hash: photo.clone(),
        length: 250_000,
        filetype: "image/jpeg".into(),
        charged: 250_000,
        created_at: NOW,
        finished_at: Some(Timestamp(NOW.0 + 1_000)),
    };
    let opened = lite
        .open_upload(upload.clone(), Timestamp(NOW.0 - DAY_MS), u64::MAX)
        .await
        .expect("open");
    assert_eq!(opened, Opening::Opened);
    let visit = shared::sync::protocol::DocId::new(
        shared::doc::DocKind::Visit,
        &shared::model::VisitId::from_random_bytes([9; 16]).to_string(),
    );
    let enterprise = shared::model::EnterpriseId::from_random_bytes([8; 16]);
    let sql = format!(
        "INSERT INTO blob_refs (hash, doc, enterprise) VALUES ('{photo}', '{visit}', \
         '{enterprise}')"
    );
    lite.write(move |s| crate::store::test_support::execute_raw(s, &sql))
        .await
        .expect("writer")
        .expect("a reference");
    drop(lite);
    let (_throwaway, pg) = empty_target().await;
    copy(&file, &pg, None).await.expect("migrated");
    let lite = Arc::new(SqliteDb::open(&file, None).expect("open"));
    let moved = pg.upload(upload.id.clone()).await.expect("read");
    assert_eq!(moved, Some(upload));
    let (want, got) = (
        lite.blob_references(photo.clone()).await.expect("SQLite"),
        pg.blob_references(photo).await.expect("PostgreSQL"),
    );
    assert_eq!(want.len(), 1);
    assert_eq!(got, want);
}

/// The district configurations the SQLite server published move as stored (each version's
/// JSON and when it was first served), compared by count and rows' SHA-256: a copy whose row
/// differs is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_configurations_move_and_a_changed_one_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = demo_file(dir.path()).await;
    let published = [
        ("0123456789abcdef0123456789abcdef", "{\"a\":1}", NOW),
        (
            "fedcba9876543210fedcba9876543210",
            "{\"a\":2}",
            Timestamp(NOW.0 + DAY_MS),
        ),
    ];
    let mut store = SqliteStore::open(&file).expect("open");
    for (version, json, at) in published {
        assert!(store.remember_config(version, json, at).expect("kept"));
    }
    drop(store);
    let (_throwaway, pg) = empty_target().await;
    copy(&file, &pg, None).await.expect("migrated");
    let rows = pg
        .query_raw("SELECT version, json, published_at FROM published_configs ORDER BY version")
        .await
        .expect("read");
    let got: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.text(0).expect("version"),
                r.text(1).expect("json"),
                r.int(2).expect("at"),
            )
        })
        .collect();
    let want: Vec<(String, String, i64)> = published
        .iter()
        .map(|(v, j, at)| (v.to_string(), j.to_string(), at.0))
        .collect();
    assert_eq!(got, want);

    let (_throwaway, pg) = empty_target().await;
    let broken = copy(
        &file,
        &pg,
        Some("UPDATE published_configs SET json = '{\"a\":3}' WHERE json = '{\"a\":2}'"),
    )
    .await;
    match broken {
        Err(MigrateError::Mismatch(why)) => {
            assert!(why.starts_with("published_configs:"), "{why}")
        }
        other => panic!("the changed copy was accepted: {other:?}"),
    }
}
