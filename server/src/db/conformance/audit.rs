//! The audit log on both backends: what the use cases append to it stays as appended — the
//! database itself refuses to change or remove an entry.

use shared::model::Timestamp;

use super::{Seeded, T0};

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

on_both_backends!(an_audit_entry_cannot_be_updated_or_deleted);
