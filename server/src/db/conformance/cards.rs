//! The 连心卡's rows ([`crate::db::Cards`]) on both backends: a card made on first use is
//! found by its token's hash and made once; replacing it retires the old token (found as
//! retired, never as unknown) with an audit entry in the change; revoking leaves none live;
//! two first uses at once leave one live card both answer; the face names the enterprise and
//! its officers assigned now (officers before leaders, the disabled left out). And `migrate`
//! copies the cards (live with their tokens, retired as hashes), verified by rows' SHA-256.

use std::sync::Arc;

use shared::model::{Assignment, Timestamp};

use super::migrate::{NOW, copy, demo_file, empty_target};
use super::{Backend, Seeded, T0, enterprise, person};
use crate::card::{new_token, token_hash};
use crate::db::{AuditNote, Cards};
use crate::pg::migrate::MigrateError;
use crate::store::{AuditAction, CardLookup, SqliteDb};

fn cards(b: &Seeded) -> Arc<dyn Cards> {
    match &b.backend {
        Backend::Sqlite(db) => Arc::new(db.clone()),
        Backend::Postgres(db) => Arc::new(db.clone()),
    }
}

fn note(detail: &str) -> AuditNote {
    AuditNote {
        actor: "wang".into(),
        action: AuditAction::CardChanged,
        subject: enterprise(1).to_string(),
        detail: detail.into(),
    }
}

const AT: Timestamp = Timestamp(T0.0 + 60_000);

async fn made_replaced_and_revoked(b: &Seeded) {
    b.enterprise(1, "a").await;
    let cards = cards(b);
    let wang = person("wang").id;
    let first = new_token();
    let card = cards
        .live_or_mint(enterprise(1), first.clone(), wang, AT)
        .await
        .expect("made");
    assert_eq!(
        (card.token.as_str(), card.created_at),
        (first.0.as_str(), AT)
    );
    // Made once: a second first use answers the same card.
    let again = cards
        .live_or_mint(enterprise(1), new_token(), wang, Timestamp(AT.0 + 1))
        .await
        .expect("read");
    assert_eq!(again, card);
    assert_eq!(
        cards.card_lookup(first.1).await.expect("lookup"),
        CardLookup::Live(enterprise(1))
    );
    assert_eq!(
        cards.card_lookup([9; 32]).await.expect("lookup"),
        CardLookup::Unknown
    );

    let second = new_token();
    cards
        .replace_card(enterprise(1), second.clone(), wang, AT, note("replaced"))
        .await
        .expect("replaced");
    assert_eq!(
        cards.card_lookup(first.1).await.expect("lookup"),
        CardLookup::Retired
    );
    assert_eq!(
        cards
            .card_lookup(token_hash(&second.0))
            .await
            .expect("lookup"),
        CardLookup::Live(enterprise(1))
    );
    assert!(
        cards
            .revoke_card(enterprise(1), wang, AT, note("revoked"))
            .await
            .expect("revoked"),
        "it had a live card"
    );
    assert_eq!(
        cards.card_lookup(second.1).await.expect("lookup"),
        CardLookup::Retired
    );
    assert!(
        !cards
            .revoke_card(enterprise(1), wang, AT, note("revoked"))
            .await
            .expect("revoked"),
        "none was live"
    );
    let entries: Vec<(String, String, String)> = b
        .audit_log()
        .await
        .into_iter()
        .filter(|e| e.action == AuditAction::CardChanged.code())
        .map(|e| (e.actor, e.subject, e.detail))
        .collect();
    let entry = |d: &str| ("wang".to_string(), enterprise(1).to_string(), d.to_string());
    assert_eq!(
        entries,
        [entry("replaced"), entry("revoked"), entry("revoked")]
    );
    // The next first use makes a new one.
    let third = new_token();
    let card = cards
        .live_or_mint(enterprise(1), third.clone(), wang, AT)
        .await
        .expect("made");
    assert_eq!(card.token, third.0);
}

async fn two_first_uses_at_once_leave_one_live_card(b: &Seeded) {
    b.enterprise(1, "a").await;
    let cards = cards(b);
    let wang = person("wang").id;
    for round in 0..10 {
        let (a, c) = tokio::join!(
            cards.live_or_mint(enterprise(1), new_token(), wang, AT),
            cards.live_or_mint(enterprise(1), new_token(), wang, AT),
        );
        let (a, c) = (a.expect("first"), c.expect("second"));
        assert_eq!(a, c, "round {round}: both answer the one live card");
        cards
            .revoke_card(enterprise(1), wang, AT, note("revoked"))
            .await
            .expect("revoked");
    }
}

async fn assign(b: &Seeded, login: &str, from: Timestamp, to: Option<Timestamp>) {
    let a = Assignment {
        enterprise: enterprise(1),
        user: person(login).id,
        valid_from: from,
        valid_to: to,
    };
    match &b.backend {
        Backend::Sqlite(db) => {
            db.write(move |s| s.set_assignment(&a))
                .await
                .expect("writer")
                .expect("assign");
        }
        Backend::Postgres(db) => {
            db.set_assignment(&a).await.expect("assign");
        }
    }
}

async fn the_face_names_the_enterprise_and_its_officers_now(b: &Seeded) {
    b.enterprise(1, "a").await;
    assign(b, "li", T0, None).await;
    assign(b, "zhao", Timestamp(T0.0 + 2), None).await;
    assign(b, "wang", Timestamp(T0.0 + 1), None).await;
    // Ended, disabled, or not an officer or leader: not printed.
    assign(b, "zhou", T0, Some(Timestamp(T0.0 + 10))).await;
    assign(b, "qian", T0, None).await;
    assign(b, "wu", T0, None).await;
    b.execute(&format!(
        "UPDATE users SET phone = '13800000001' WHERE id = '{}'",
        person("wang").id
    ))
    .await
    .expect("a phone");
    let cards = cards(b);
    let face = cards
        .card_face(enterprise(1), AT)
        .await
        .expect("face")
        .expect("a stored enterprise");
    assert_eq!(face.enterprise_name, "企业1");
    assert_eq!(
        face.officers,
        [
            ("姓名wang".to_string(), Some("13800000001".to_string())),
            ("姓名zhao".to_string(), None),
            ("姓名li".to_string(), None),
        ]
    );
    assert_eq!(
        cards.card_face(enterprise(2), AT).await.expect("face"),
        None
    );
    assert!(
        cards
            .card_problems(enterprise(1), 30)
            .await
            .expect("problems")
            .is_empty()
    );
}

on_both_backends!(
    made_replaced_and_revoked,
    two_first_uses_at_once_leave_one_live_card,
    the_face_names_the_enterprise_and_its_officers_now,
);

/// The demo district's file with one demo enterprise's card replaced once (a retired row and a
/// live one); the enterprise and both tokens.
async fn demo_with_cards(
    dir: &std::path::Path,
) -> (std::path::PathBuf, shared::model::EnterpriseId, [String; 2]) {
    let file = demo_file(dir).await;
    let db = Arc::new(SqliteDb::open(&file, None).expect("open"));
    let id = db
        .read(|s| s.all_enterprises())
        .await
        .expect("reader")
        .expect("the enterprises")
        .into_iter()
        .next()
        .expect("a demo enterprise");
    let officer = person("wang").id;
    let (old, new) = (new_token(), new_token());
    let cards: &dyn Cards = &db;
    cards
        .live_or_mint(id, old.clone(), officer, NOW)
        .await
        .expect("made");
    cards
        .replace_card(id, new.clone(), officer, NOW, note("replaced"))
        .await
        .expect("replaced");
    (file, id, [old.0, new.0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_the_cards() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, id, [old, new]) = demo_with_cards(dir.path()).await;
    let (_throwaway, pg) = empty_target().await;
    copy(&file, &pg, None).await.expect("migrated");
    let cards: &dyn Cards = &pg;
    assert_eq!(
        cards.card_lookup(token_hash(&old)).await.expect("lookup"),
        CardLookup::Retired
    );
    assert_eq!(
        cards.card_lookup(token_hash(&new)).await.expect("lookup"),
        CardLookup::Live(id)
    );
    let live = cards
        .live_or_mint(id, new_token(), person("wang").id, NOW)
        .await
        .expect("the live card");
    assert_eq!(live.token, new, "the printed card keeps working");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_whose_card_differs_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, _, _) = demo_with_cards(dir.path()).await;
    let (_throwaway, pg) = empty_target().await;
    let broken = copy(
        &file,
        &pg,
        Some("UPDATE enterprise_cards SET created_at = created_at + 1 WHERE token IS NULL"),
    )
    .await;
    match broken {
        Err(MigrateError::Mismatch(why)) => assert!(why.contains("enterprise_cards"), "{why}"),
        other => panic!("the altered copy was accepted: {other:?}"),
    }
}
