//! The enterprise's signature against the real `lianxin-server` process (issue 14 item 4): a
//! signature PNG is uploaded and read like a photo, following its record's scope (a 404 to
//! anyone else), and appears on the leaders' visit list; a signature that breaks a bound is
//! refused by validation, the rest of the device's work unaffected; a signature written onto
//! a confirmation already recorded is refused.

use std::path::PathBuf;

use server::store::SqliteStore;
use shared::model::{OrgUnitKind, Role, SIGNATURE_TYPE, Signature};
use shared::sync::protocol::Refusal;
use tests::device::NativeDevice;
use tests::district::{self, PASSWORD};
use tests::process::ServerProcess;
use tests::uploads::{Tus, noise_png, sha256_hex, signed_visit};

/// Officer `wang` (test enterprises 0–2), officer `li` (5–7) and `boss`, a leader of the zone.
fn district_db() -> anyhow::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let mut store = SqliteStore::open(&db)?;
    district::officer_in(&mut store, "wang", 0..3)?;
    district::officer_in(&mut store, "li", 5..8)?;
    let zone = district::org_unit(&mut store, district::ZONE, OrgUnitKind::Zone, None)?;
    district::user(&mut store, "boss", Role::Leader, zone)?;
    Ok((dir, db))
}

fn any_port() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

fn token(dev: &NativeDevice) -> String {
    dev.token.clone().unwrap_or_default()
}

fn png_signature(bytes: &[u8]) -> Signature {
    Signature {
        hash: sha256_hex(bytes),
        size: bytes.len() as u64,
        media_type: SIGNATURE_TYPE.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_follows_its_visits_scope_and_shows_on_the_leaders_visit_list()
-> anyhow::Result<()> {
    let (_dir, db) = district_db()?;
    let server = ServerProcess::start(&db, any_port())?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let li = NativeDevice::logged_in(2, &server.url(), "li", PASSWORD).await?;
    let png = noise_png(120, 40, 7)?;
    let signature = png_signature(&png);
    signed_visit(&mut wang, 1, district::enterprise(0), "张经理", &signature)?;
    wang.sync().await?;
    assert!(
        wang.status().refused.is_empty(),
        "{:?}",
        wang.status().refused
    );

    // Li may read no record that references it: refused as an upload, a 404 as a read.
    let as_li = Tus::new(&server.url(), &token(&li));
    let refused = as_li
        .create(png.len() as u64, &signature.hash, "image/png")
        .await?;
    assert_eq!(
        (refused.status, refused.error.as_deref()),
        (403, Some("unreferenced"))
    );
    let done = Tus::new(&server.url(), &token(&wang))
        .upload(&png, 16 * 1024)
        .await?;
    assert_eq!(
        (done.status, done.offset),
        (204, Some(png.len() as u64)),
        "{done:?}"
    );
    assert_eq!(as_li.blob(&signature.hash, false).await?.status(), 404);
    let got = Tus::new(&server.url(), &token(&wang))
        .blob(&signature.hash, false)
        .await?;
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await?.as_ref(), png.as_slice());

    // The leader's list names the signer, the time and the image; a signature is no photo.
    let boss = NativeDevice::logged_in(3, &server.url(), "boss", PASSWORD).await?;
    let page: serde_json::Value = reqwest::Client::new()
        .get(server.url() + "/api/visits")
        .bearer_auth(token(&boss))
        .send()
        .await?
        .json()
        .await?;
    let row = &page["rows"][0];
    assert_eq!(row["confirmed"], true, "{page}");
    assert_eq!(row["photos"], 0, "{page}");
    assert_eq!(row["signature"]["by_name"], "张经理", "{page}");
    assert_eq!(row["signature"]["at"], 1_793_491_200_000_i64, "{page}");
    assert_eq!(row["signature"]["hash"], signature.hash.as_str(), "{page}");
    let leader = Tus::new(&server.url(), &token(&boss))
        .blob(&signature.hash, true)
        .await?;
    assert_eq!(leader.status(), 200, "the zone's leader reads every record");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_without_its_signers_name_or_past_512_kib_is_refused_and_the_rest_is_taken()
-> anyhow::Result<()> {
    let (_dir, db) = district_db()?;
    let server = ServerProcess::start(&db, any_port())?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let png = noise_png(120, 40, 8)?;
    let good = png_signature(&png);
    let unnamed = signed_visit(&mut wang, 1, district::enterprise(0), " ", &good)?;
    let oversized = Signature {
        size: 512 * 1024 + 1,
        ..good.clone()
    };
    let too_large = signed_visit(&mut wang, 2, district::enterprise(1), "张经理", &oversized)?;
    let fine = signed_visit(&mut wang, 3, district::enterprise(2), "张经理", &good)?;
    wang.sync().await?;
    let status = wang.status();
    let refused: Vec<_> = status.refused.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(refused.len(), 2, "{:?}", status.refused);
    assert!(refused.contains(&unnamed) && refused.contains(&too_large));
    assert!(!refused.contains(&fine));
    for (_, why) in &status.refused {
        let Refusal::Invalid(text) = why else {
            panic!("refused as invalid, not {why:?}");
        };
        assert!(
            text.contains("signer's name") || text.contains("bytes"),
            "{text}"
        );
    }
    assert_eq!(status.waiting, 0, "the valid visit was taken");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_slipped_onto_a_recorded_confirmation_later_is_refused() -> anyhow::Result<()> {
    use automerge::ReadDoc as _;
    use automerge::transaction::{CommitOptions, Transactable as _};
    use shared::doc::{Author, ProblemDoc};
    use shared::model::EntryId;
    use shared::workflow::Action;

    let (_dir, db) = district_db()?;
    let server = ServerProcess::start(&db, any_port())?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let owner = wang.actor.user;
    let problem = wang.resolved_on_site(1, district::enterprise(0), owner)?;
    // The enterprise confirms by word, unsigned; the server takes it.
    wang.edit_offline(&problem, |doc, actor| {
        let mut p = ProblemDoc::from_record(doc)?;
        let event = EntryId::from_random_bytes([41; 16]);
        p.act(
            actor,
            tests::device::wall_clock(),
            event,
            Action::Confirm,
            "",
        )?;
        Ok(p.into_record())
    })?;
    wang.sync().await?;
    assert!(
        wang.status().refused.is_empty(),
        "{:?}",
        wang.status().refused
    );

    // Later a signature is written onto that recorded confirmation.
    let png = noise_png(120, 40, 9)?;
    wang.edit_offline(&problem, |mut doc, actor| {
        let am = doc.automerge();
        let (_, events) = am
            .get(automerge::ROOT, "events")?
            .ok_or_else(|| anyhow::anyhow!("no events"))?;
        let confirm = am
            .keys(&events)
            .filter_map(|k| Some(am.get(&events, &k).ok()??.1))
            .find(|e| {
                am.get(e, "action")
                    .ok()
                    .flatten()
                    .is_some_and(|(v, _)| v.as_str() == Some("confirm"))
            })
            .ok_or_else(|| anyhow::anyhow!("no confirm event"))?;
        am.put(&confirm, "sig_name", "张经理")?;
        am.put(&confirm, "sig_hash", sha256_hex(&png))?;
        am.put(&confirm, "sig_size", png.len() as i64)?;
        am.put(&confirm, "sig_type", SIGNATURE_TYPE)?;
        let author = Author {
            user: actor.user,
            device: actor.device,
            role: actor.role,
        };
        let _ = am.commit_with(
            CommitOptions::default()
                .with_message(author.message())
                .with_time(tests::device::wall_clock().0),
        );
        Ok(doc)
    })?;
    wang.sync().await?;
    let status = wang.status();
    let [(id, Refusal::Forbidden(why))] = status.refused.as_slice() else {
        panic!("refused as forbidden: {:?}", status.refused);
    };
    assert_eq!(id, &problem);
    assert!(why.contains("signature"), "{why}");
    Ok(())
}
