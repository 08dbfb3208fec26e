//! The audit log on both backends: what the use cases append to it stays as appended — the
//! database itself refuses to change or remove an entry —, it is read a page at a time by
//! filter ([`AuditLog::search_audit`]), and its chain is walked whole
//! ([`AuditLog::verify_audit`]): an entry changed or removed in the database behind the
//! server's back is named, and entries appended by two servers at once form one chain that
//! every walk meanwhile finds whole.

use std::sync::Arc;

use shared::model::Timestamp;

use super::{Backend, Seeded, T0};
use crate::db::{AuditLog, Tokens};
use crate::store::{AuditFilter, AuditVerdict};

async fn an_audit_entry_cannot_be_updated_or_deleted(b: &Seeded) {
    let phone = b.devices[0].id;
    b.directory
        .revoke_own_device(b.user.id, phone, Timestamp(T0.0 + 1), "丢失".into())
        .await
        .expect("revoke, with its audit entry");
    let before = b.audit_log().await;
    let seq = before.last().expect("an entry").seq;
    for sql in [
        format!("UPDATE audit_log SET actor = 'someone' WHERE seq = {seq}"),
        format!("DELETE FROM audit_log WHERE seq = {seq}"),
        "DELETE FROM audit_log".to_string(),
    ] {
        let refused = b.execute(&sql).await;
        let message = format!("{:?}", refused.as_ref().map_err(ToString::to_string));
        assert!(refused.is_err(), "{sql}: {message}");
        assert!(
            message.contains("append-only"),
            "{sql} refused otherwise: {message}"
        );
    }
    assert_eq!(b.audit_log().await, before, "the log changed");
}

/// The backend's audit log as the HTTP layer reads it.
fn log(b: &Seeded) -> Arc<dyn AuditLog> {
    match &b.backend {
        Backend::Sqlite(db) => Arc::new(db.clone()),
        Backend::Postgres(db) => Arc::new(db.clone()),
    }
}

/// Appends a failed login of `subject` from `actor` at `at` with `detail` (the one use case
/// that names every field of its entry); its position.
async fn failed_login(tokens: &dyn Tokens, at: i64, actor: &str, subject: &str, detail: &str) {
    tokens
        .audit_failed_login(Timestamp(at), actor.into(), subject.into(), detail.into())
        .await
        .expect("a failed login, audited");
}

/// The positions of the entries `filter` keeps before `before`, newest first, at most `limit`.
async fn seqs(b: &Seeded, filter: &AuditFilter, before: Option<i64>, limit: usize) -> Vec<i64> {
    log(b)
        .search_audit(filter.clone(), before, limit)
        .await
        .expect("search")
        .iter()
        .map(|e| e.seq)
        .collect()
}

async fn a_search_pages_newest_first_and_keeps_only_what_the_filter_names(b: &Seeded) {
    // Seeding may have audited: positions from here on are `base + n`.
    let base = b.audit_log().await.last().map_or(0, |e| e.seq);
    let t = T0.0 + 1_000;
    let entries = [
        (t, "203.0.113.1", "wang", "wrong password"),
        (t + 1, "203.0.113.1", "WANG", "wrong password"),
        (t + 2, "198.51.100.7", "王芳", "未知账号 50%_off"),
        (t + 3, "198.51.100.7", "zhao", "throttled"),
    ];
    for (at, actor, subject, detail) in entries {
        failed_login(&*b.tokens, at, actor, subject, detail).await;
    }
    b.directory
        .disable_user("zhao".into(), Timestamp(t + 4), "admin".into())
        .await
        .expect("disable, audited");
    let n = |k: i64| base + k;
    let all = AuditFilter::default();
    assert_eq!(seqs(b, &all, None, 2).await, [n(5), n(4)]);
    assert_eq!(seqs(b, &all, Some(n(4)), 2).await, [n(3), n(2)]);
    assert_eq!(
        seqs(b, &all, Some(n(2)), 100).await.first(),
        Some(&n(1)),
        "the next page goes on below the position given"
    );
    let by = |action: Option<&str>, actor: Option<&str>, text: Option<&str>| AuditFilter {
        action: action.map(Into::into),
        actor: actor.map(Into::into),
        text: text.map(Into::into),
        ..AuditFilter::default()
    };
    let failed = by(Some("login_failed"), None, None);
    assert_eq!(seqs(b, &failed, None, 10).await, [n(4), n(3), n(2), n(1)]);
    let disabled = by(Some("user_disabled"), Some("admin"), None);
    assert_eq!(seqs(b, &disabled, None, 10).await, [n(5)]);
    let from = by(None, Some("198.51.100.7"), None);
    assert_eq!(seqs(b, &from, None, 10).await, [n(4), n(3)]);
    // Text is found in the actor, the subject or the detail, as written: case kept, no
    // pattern characters, Chinese by its characters.
    for (text, expected) in [
        ("203.0.113", vec![n(2), n(1)]),
        ("WANG", vec![n(2)]),
        ("wang", vec![n(1)]),
        ("王芳", vec![n(3)]),
        ("50%_", vec![n(3)]),
        ("%", vec![n(3)]),
        ("_", vec![n(3)]),
        ("throttled", vec![n(4)]),
        ("nobody", vec![]),
    ] {
        let filter = by(None, None, Some(text));
        assert_eq!(seqs(b, &filter, None, 10).await, expected, "text {text:?}");
    }
    let window = AuditFilter {
        actor: Some("198.51.100.7".into()),
        from: Some(Timestamp(t + 2)),
        to: Some(Timestamp(t + 3)),
        ..AuditFilter::default()
    };
    assert_eq!(
        seqs(b, &window, None, 10).await,
        [n(3)],
        "from inclusive, to not"
    );
    let entry = log(b)
        .search_audit(by(None, None, Some("王芳")), None, 1)
        .await
        .expect("search")
        .pop()
        .expect("the entry");
    assert_eq!(
        (
            entry.at,
            entry.actor.as_str(),
            entry.action.as_str(),
            entry.subject.as_str(),
            entry.detail.as_str(),
            entry.hash.len()
        ),
        (
            Timestamp(t + 2),
            "198.51.100.7",
            "login_failed",
            "王芳",
            "未知账号 50%_off",
            64
        )
    );
    assert_eq!(
        b.audit_log().await.iter().find(|e| e.seq == n(3)),
        Some(&entry),
        "read as the log holds it"
    );
}

/// Lets the test change the audit log as someone with the database could: the append-only
/// triggers off.
async fn unguard(b: &Seeded) {
    let statements: &[&str] = match &b.backend {
        Backend::Sqlite(_) => &[
            "DROP TRIGGER audit_log_is_append_only_update",
            "DROP TRIGGER audit_log_is_append_only_delete",
        ],
        Backend::Postgres(_) => &["ALTER TABLE audit_log DISABLE TRIGGER audit_log_is_append_only"],
    };
    for sql in statements {
        b.execute(sql).await.expect("triggers off");
    }
}

async fn an_entry_changed_in_the_database_is_found_at_its_position(b: &Seeded) {
    let log = log(b);
    let base = b.audit_log().await.len() as i64;
    for k in 0..10 {
        failed_login(
            &*b.tokens,
            T0.0 + k,
            "203.0.113.1",
            "wang",
            "wrong password",
        )
        .await;
    }
    assert_eq!(
        log.verify_audit().await.expect("verify"),
        AuditVerdict::Intact { entries: base + 10 }
    );
    unguard(b).await;
    let broken = |seq: i64, reason: &str| AuditVerdict::Broken {
        seq,
        reason: reason.into(),
    };
    // Past the first pages of the walk (tests read it three entries at a time).
    let (changed, relinked, removed) = (base + 9, base + 7, base + 5);
    let steps = [
        (
            format!("UPDATE audit_log SET detail = 'right password' WHERE seq = {changed}"),
            broken(changed, "its contents do not match its hash"),
        ),
        (
            format!(
                "UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE seq = 1) \
                 WHERE seq = {relinked}"
            ),
            broken(relinked, "it does not link to the entry before it"),
        ),
        (
            format!("DELETE FROM audit_log WHERE seq = {removed}"),
            broken(
                removed,
                &format!("entry {removed} is missing (next is {})", removed + 1),
            ),
        ),
    ];
    for (sql, verdict) in steps {
        assert_eq!(b.execute(&sql).await.expect(&sql), 1, "{sql}");
        assert_eq!(log.verify_audit().await.expect("verify"), verdict, "{sql}");
    }
}

/// Appends `count` failed logins as a server whose clock reads `clock` ms at the first.
async fn appends(tokens: Arc<dyn Tokens>, server: &str, clock: i64, count: i64) {
    for k in 0..count {
        let subject = format!("{server}-{k}");
        failed_login(&*tokens, clock + k, server, &subject, "wrong password").await;
    }
}

async fn two_servers_appending_at_once_make_one_chain_every_walk_finds_whole(b: &Seeded) {
    const EACH: i64 = 40;
    let log = log(b);
    let base = b.audit_log().await.len() as i64;
    // Server b's clock is a minute behind a's: the chain's order is the order of the appends,
    // not of their times.
    let a = tokio::spawn(appends(b.tokens.clone(), "a", T0.0 + 60_000, EACH));
    let other = tokio::spawn(appends(b.tokens.clone(), "b", T0.0, EACH));
    let mut walks = 0;
    let mut seen = base;
    while !(a.is_finished() && other.is_finished()) {
        match log.verify_audit().await.expect("verify") {
            AuditVerdict::Intact { entries } => {
                assert!(entries >= seen, "a walk found {entries} after {seen}");
                seen = entries;
            }
            broken => panic!("a walk during the appends found {broken:?}"),
        }
        walks += 1;
    }
    a.await.expect("server a's appends");
    other.await.expect("server b's appends");
    assert!(walks > 0);
    assert_eq!(
        log.verify_audit().await.expect("verify"),
        AuditVerdict::Intact {
            entries: base + 2 * EACH
        }
    );
    let newest = log
        .search_audit(AuditFilter::default(), None, 1_000)
        .await
        .expect("search");
    let positions: Vec<i64> = newest.iter().map(|e| e.seq).collect();
    let expected: Vec<i64> = (1..=base + 2 * EACH).rev().collect();
    assert_eq!(positions, expected, "one chain, without a gap");
    for server in ["a", "b"] {
        let filter = AuditFilter {
            actor: Some(server.into()),
            ..AuditFilter::default()
        };
        let subjects: Vec<String> = log
            .search_audit(filter, None, 1_000)
            .await
            .expect("search")
            .into_iter()
            .rev()
            .map(|e| e.subject)
            .collect();
        let expected: Vec<String> = (0..EACH).map(|k| format!("{server}-{k}")).collect();
        assert_eq!(subjects, expected, "server {server}'s entries in its order");
    }
}

on_both_backends!(
    an_audit_entry_cannot_be_updated_or_deleted,
    a_search_pages_newest_first_and_keeps_only_what_the_filter_names,
    an_entry_changed_in_the_database_is_found_at_its_position,
    two_servers_appending_at_once_make_one_chain_every_walk_finds_whole,
);
