//! Who creates a key enterprise's monitoring document: the server, once. Importing a key
//! enterprise stores its one monitoring document (importing again or restarting the server
//! adds none); two officers' devices that both received it and recorded different days offline
//! end with both days, on the server and on both devices; a device's own monitoring document
//! is refused with its reason, whether or not the server already holds one; a key enterprise a
//! window clerk registers gets its document within seconds of the clerk's sync, not at the
//! next hourly run.

use std::sync::Arc;

use anyhow::Context as _;
use server::AppState;
use server::admin;
use server::store::SqliteStore;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{ActorId, DocKind, EnterpriseDoc, MonitoringDoc, NewEnterprise, monitoring_id};
use shared::model::{CreditCode, EnterpriseId, EnterpriseSize, Monitoring, Role, Timestamp};
use shared::sync::protocol::{DocId, Refusal};
use shared::sync::server::ServerStore;
use tempfile::TempDir;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes, wall_clock};
use tests::district::{self, PASSWORD};

const NOW: Timestamp = Timestamp(1_790_000_000_000);

const ORG_UNITS: &str = "code,name,kind,parent\n\
    jiyuan,济源示范区,zone,\n\
    yuquan,玉泉街道,town,jiyuan\n";

fn code(n: u32) -> String {
    CreditCode::from_parts('9', '1', "419001", &format!("{:08}", 30_000_000 + n))
        .expect("a valid credit code")
        .as_str()
        .to_string()
}

/// One key enterprise (code 1) and one that is not (code 2).
fn enterprises_csv() -> String {
    format!(
        "credit_code,name,address,town,industry,size,key_enterprise,lat,lon\n\
         {},济源市恒通精密机械有限公司,玉泉街道工业路1号,yuquan,装备制造,above,yes,,\n\
         {},济源市宏达新材料有限公司,玉泉街道产业园,yuquan,新材料,below,no,,\n",
        code(1),
        code(2)
    )
}

fn monitoring_doc(enterprise: EnterpriseId) -> DocId {
    DocId::new(DocKind::Monitoring, &monitoring_id(enterprise))
}

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().expect("a date")
}

/// The imported district: the key enterprise, the other one, and their ids.
struct Imported {
    key: EnterpriseId,
    other: EnterpriseId,
}

fn import(store: &mut SqliteStore) -> anyhow::Result<Imported> {
    admin::import_org_units(store, ORG_UNITS)?;
    admin::import_enterprises(store, &enterprises_csv(), NOW)?;
    let key = store
        .enterprise_by_credit_code(&code(1))?
        .context("the key enterprise imported")?;
    let other = store
        .enterprise_by_credit_code(&code(2))?
        .context("the other enterprise imported")?;
    Ok(Imported { key, other })
}

/// A server whose district has two officers, wang and li, both assigned (包联) both imported
/// enterprises.
struct Setup {
    server: TestServer,
    service: Arc<SyncService>,
    ent: Imported,
    _dir: TempDir,
}

async fn setup() -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let ent = {
        let mut store = SqliteStore::open(&dir.path().join("lianxin.db"))?;
        let ent = import(&mut store)?;
        let town = store
            .org_unit_by_code("yuquan")?
            .context("the town imported")?
            .unit
            .id;
        for login in ["wang", "li"] {
            let officer = district::user(&mut store, login, Role::Officer, town)?;
            district::assign(&mut store, officer.id, [ent.key, ent.other])?;
        }
        ent
    };
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    Ok(Setup {
        server,
        service,
        ent,
        _dir: dir,
    })
}

/// The server's copy of a monitoring document, read.
async fn on_server(service: &Arc<SyncService>, id: &DocId) -> anyhow::Result<Option<Monitoring>> {
    let id = id.clone();
    service
        .with_store(move |s| -> anyhow::Result<Option<Monitoring>> {
            let Some(stored) = s.load_doc(&id)? else {
                return Ok(None);
            };
            Ok(Some(
                MonitoringDoc::load(&stored.bytes, ActorId::from([0u8; 16]))?.read()?,
            ))
        })
        .await
        .context("the store thread stopped")?
}

/// A device's copy of a monitoring document, read.
fn on_device(device: &NativeDevice, id: &DocId) -> anyhow::Result<Monitoring> {
    let doc = device
        .client
        .replica()
        .read(id)
        .context("the monitoring document on the device")??;
    Ok(MonitoringDoc::from_record(doc.into_owned())?.read()?)
}

/// Records a day's power use offline in the monitoring document the device received.
fn record_power(
    device: &mut NativeDevice,
    id: &DocId,
    on: chrono::NaiveDate,
    kwh: f64,
) -> anyhow::Result<()> {
    let actor = device.actor;
    let stored = device
        .client
        .replica_mut()
        .doc_mut(id)
        .context("the monitoring document on the device")??;
    let mut doc = MonitoringDoc::from_record(stored.clone())?;
    doc.edit(&actor, wall_clock(), |w| w.record_power(on, kwh))?;
    *stored = doc.into_record();
    Ok(())
}

#[test]
fn importing_a_key_enterprise_stores_its_one_monitoring_document() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let config = Config::default();
    let mut store = SqliteStore::open(&db)?;
    let ent = import(&mut store)?;
    let id = monitoring_doc(ent.key);
    assert_eq!(
        store.doc_ids_of_kind(DocKind::Monitoring)?,
        vec![id.clone()],
        "one monitoring document, the key enterprise's; none for the other"
    );
    let stored = store.load_doc(&id)?.context("stored")?;
    let read = MonitoringDoc::load(&stored.bytes, ActorId::from([0u8; 16]))?.read()?;
    assert_eq!(read.enterprise, ent.key);
    assert!(read.power.is_empty() && read.needs_decision.is_empty());

    // Importing the file again, then restarting the server (its start-up job) adds nothing.
    let again = admin::import_enterprises(&mut store, &enterprises_csv(), NOW)?;
    assert_eq!((again.imported, again.present), (0, 2));
    drop(store);
    let mut store = SqliteStore::open(&db)?;
    let job = server::monitoring::run_job(&mut store, &config, Timestamp(NOW.0 + 60_000))?;
    assert!(job.created.is_empty(), "{job:?}");
    assert_eq!(
        store.doc_ids_of_kind(DocKind::Monitoring)?,
        vec![id.clone()]
    );
    assert_eq!(
        store.load_doc(&id)?.context("kept")?.heads,
        stored.heads,
        "the stored document is untouched"
    );
    Ok(())
}

#[tokio::test]
async fn two_officers_recording_different_days_offline_both_keep_both_days() -> anyhow::Result<()> {
    let s = setup().await?;
    let id = monitoring_doc(s.ent.key);
    let mut wang = NativeDevice::logged_in(1, &s.server.url(""), "wang", PASSWORD).await?;
    let mut li = NativeDevice::logged_in(2, &s.server.url(""), "li", PASSWORD).await?;
    wang.sync().await?;
    li.sync().await?;
    assert!(wang.client.replica().get(&id).is_some(), "wang received it");
    assert!(li.client.replica().get(&id).is_some(), "li received it");

    // Both offline: each records a different day.
    record_power(&mut wang, &id, day("2026-11-02"), 8_100.0)?;
    record_power(&mut li, &id, day("2026-11-03"), 7_900.0)?;
    wang.sync().await?;
    li.sync().await?;
    wang.sync().await?;

    let both = [(day("2026-11-02"), 8_100.0), (day("2026-11-03"), 7_900.0)]
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>();
    let server = on_server(&s.service, &id).await?.context("on the server")?;
    assert_eq!(server.power, both, "the server's merged document");
    assert_eq!(on_device(&wang, &id)?.power, both, "wang's device");
    assert_eq!(on_device(&li, &id)?.power, both, "li's device");
    assert!(wang.status().refused.is_empty() && li.status().refused.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_device_creating_a_monitoring_document_is_refused_with_its_reason() -> anyhow::Result<()>
{
    let s = setup().await?;
    let mut wang = NativeDevice::logged_in(3, &s.server.url(""), "wang", PASSWORD).await?;
    // Offline before its first sync, as the app used to: its own monitoring document of the
    // key enterprise (the server holds one) and of the other enterprise (it holds none).
    let key = monitoring_doc(s.ent.key);
    let other = monitoring_doc(s.ent.other);
    let before = on_server(&s.service, &key).await?.context("the server's")?;
    for (id, enterprise) in [(&key, s.ent.key), (&other, s.ent.other)] {
        let mut doc =
            MonitoringDoc::create(enterprise, &wang.actor, wang.actor_id.clone(), wall_clock())?;
        doc.edit(&wang.actor, wall_clock(), |w| {
            w.record_power(day("2026-11-02"), 8_100.0)
        })?;
        wang.client
            .replica_mut()
            .insert_new(id.clone(), doc.into_record());
    }
    wang.sync().await?;

    let refused = wang.status().refused;
    assert_eq!(refused.len(), 2, "{refused:?}");
    for (id, why) in &refused {
        assert!(*id == key || *id == other, "{id}");
        assert!(
            matches!(why, Refusal::Forbidden(m) if m.contains("the server creates each key enterprise's monitoring record")),
            "{id}: {why:?}"
        );
    }
    assert_eq!(
        on_server(&s.service, &key).await?,
        Some(before),
        "the server's document is unchanged"
    );
    assert_eq!(
        on_server(&s.service, &other).await?,
        None,
        "nothing stored for the other enterprise"
    );
    Ok(())
}

#[tokio::test]
async fn a_key_enterprise_a_window_clerk_registers_gets_its_monitoring_document_within_seconds()
-> anyhow::Result<()> {
    let s = setup().await?;
    tokio::spawn(server::monitoring::follow_commits(s.service.clone()));
    let town = s
        .service
        .with_store(|st| -> anyhow::Result<_> {
            let town = st
                .org_unit_by_code("yuquan")?
                .context("the town imported")?
                .unit
                .id;
            district::user(st, "window1", Role::WindowClerk, town)?;
            Ok(town)
        })
        .await
        .context("the store thread stopped")??;
    let mut clerk = NativeDevice::logged_in(4, &s.server.url(""), "window1", PASSWORD).await?;

    // At the service center's window: a new key enterprise, registered on the spot.
    let enterprise = EnterpriseId::from_random_bytes(id_bytes(9, 1));
    let profile = NewEnterprise {
        id: enterprise,
        credit_code: CreditCode::from_parts('9', '1', "419001", "30000003")?,
        name: "济源市新立精工有限公司".into(),
        address: "玉泉街道产业园8号".into(),
        town,
        industry: "装备制造".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: true,
        position: None,
    };
    let doc = EnterpriseDoc::create(&profile, &clerk.actor, clerk.actor_id.clone(), wall_clock())?;
    clerk.client.replica_mut().insert_new(
        DocId::new(DocKind::Enterprise, &enterprise.to_string()),
        doc.into_record(),
    );
    clerk.sync().await?;
    assert!(
        clerk.status().refused.is_empty(),
        "{:?}",
        clerk.status().refused
    );

    // Bounded: the follower looks about a second after the commit.
    let id = monitoring_doc(enterprise);
    let mut created = on_server(&s.service, &id).await?;
    for _ in 0..100 {
        if created.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        created = on_server(&s.service, &id).await?;
    }
    let created = created.context("no monitoring document 10 s after the clerk's sync")?;
    assert_eq!(created.enterprise, enterprise);
    assert!(created.power.is_empty());
    Ok(())
}
