//! A handover file (交接文件) of a phone that never gets signal again, imported by IT with the
//! real `lianxin-server handover import` on a real database file: checked like the device's
//! own sync (its signature, its scope and authorship) and audit-logged; a changed file is
//! refused whole.

use std::path::Path;
use std::process::{Command, Output};

use server::auth::{Secret, token};
use server::store::SqliteStore;
use shared::doc::{ActorId, DocKind, NewVisit, VisitDoc};
use shared::model::{Actor, DeviceId, OperatingStatus, Role, Timestamp, VisitId, VisitMethod};
use shared::sync::handover::{Handover, HandoverFile};
use shared::sync::protocol::{self, DocPush};
use tests::device::{id_bytes, wall_clock};
use tests::district::{self, enterprise};
use tests::process::server_binary;
use tests::raw::{doc_id, push_new};

const SECRET: &str = "the phone's own device secret, never sent again";
const NOW: Timestamp = Timestamp(1_790_000_000_000);

fn import(db: &Path, file: &Path) -> anyhow::Result<Output> {
    Ok(Command::new(server_binary()?)
        .args(["handover", "import"])
        .arg(file)
        .arg("--db")
        .arg(db)
        .env("NO_COLOR", "1")
        .env_remove("LIANXIN_DB")
        .env_remove("LIANXIN_CONFIG")
        .output()?)
}

fn visit(actor: &Actor, actor_id: &ActorId, n: u64, at: u64) -> anyhow::Result<DocPush> {
    let new = NewVisit {
        id: VisitId::from_random_bytes(id_bytes(60, n)),
        enterprise: enterprise(at),
        method: VisitMethod::OnSite,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: format!("没有信号时的走访 {n}"),
    };
    let mut doc = VisitDoc::create(&new, actor, actor_id.clone(), NOW)?.into_record();
    Ok(push_new(doc_id(DocKind::Visit, new.id), &mut doc))
}

/// The file the phone writes: the handover, signed with its secret's hash.
fn file(handover: &Handover, payload_edit: impl FnOnce(&mut Vec<u8>)) -> anyhow::Result<Vec<u8>> {
    let mut payload = postcard::to_allocvec(handover)?;
    let key = token::hash(&Secret::new(SECRET));
    let signature = server::admin::handover::signature(&key.0, &payload).to_vec();
    payload_edit(&mut payload);
    Ok(protocol::encode(&HandoverFile { payload, signature }))
}

fn visits(db: &Path, at: u64) -> anyhow::Result<Vec<String>> {
    let store = SqliteStore::open(db)?;
    Ok(store
        .visit_rows_for(enterprise(at))?
        .into_iter()
        .map(|v| v.notes)
        .collect())
}

#[test]
fn a_signed_handover_is_applied_as_the_devices_push_and_a_changed_one_is_refused()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let (device, actor, actor_id) = {
        let mut store = SqliteStore::open(&db)?;
        let wang = district::officer_in(&mut store, "wang", [1])?;
        let secret = token::hash(&Secret::new(SECRET));
        let phone = store.register_device(
            DeviceId::from_random_bytes(id_bytes(2, 1)),
            wang.id,
            "王芳的手机",
            Some(&secret),
            id_bytes(3, 1),
            wall_clock(),
        )?;
        let actor = Actor {
            user: wang.id,
            device: phone.id,
            role: Role::Officer,
        };
        (phone.id, actor, ActorId::from(id_bytes(3, 1)))
    };
    let handover = Handover {
        device,
        user: actor.user,
        created_at: NOW,
        // One visit of wang's enterprise, one of an enterprise not assigned to him.
        push: vec![
            visit(&actor, &actor_id, 1, 1)?,
            visit(&actor, &actor_id, 2, 9)?,
        ],
    };

    let changed = dir.path().join("changed.lxh");
    std::fs::write(
        &changed,
        file(&handover, |p| {
            if let Some(last) = p.last_mut() {
                *last ^= 1;
            }
        })?,
    )?;
    let out = import(&db, &changed)?;
    assert!(!out.status.success(), "a changed file is refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("signature does not hold"), "{stderr}");
    assert!(visits(&db, 1)?.is_empty(), "nothing of it is stored");

    let signed = dir.path().join("wang.lxh");
    std::fs::write(&signed, file(&handover, |_| {})?)?;
    let out = import(&db, &signed)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 document(s) accepted, 1 refused"),
        "{stdout}"
    );
    assert_eq!(visits(&db, 1)?, ["没有信号时的走访 1"]);
    assert!(visits(&db, 9)?.is_empty(), "out of scope: refused");

    let store = SqliteStore::open(&db)?;
    let audited = store
        .audit_log(0, 100)?
        .into_iter()
        .any(|e| e.action == "handover_imported" && e.subject == device.to_string());
    assert!(audited, "the import is in the audit log");
    Ok(())
}
