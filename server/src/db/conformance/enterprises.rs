//! The administrator's enterprise profiles ([`crate::db::Enterprises`]) on both backends: an
//! import's profiles (and a key enterprise's monitoring document) committed through the sync
//! store with the import's entry in one transaction, then listed (by name compared by bytes,
//! ASCII case ignored in a search, duplicates counted, merged profiles hidden) and shown; a
//! credit code a live profile holds refused with nothing stored; two imports of one code at
//! once storing it once; an edit committing its changed fields with its entry, a merged
//! profile's refused (also when the merge came between the edit and its commit).

use std::sync::Arc;

use shared::config::Config;
use shared::doc::NewEnterprise;
use shared::model::{CreditCode, EnterpriseId, EnterpriseSize, Position, Timestamp};

use super::{Backend, Seeded, T0, person, unit_id};
use crate::admin::enterprises::{self, Acting, EnterpriseEdit};
use crate::admin::import_enterprises::CheckedEnterprises;
use crate::db::Enterprises;
use crate::store::{EnterpriseQuery, StoreError};

/// When the profiles are imported.
const AT: Timestamp = Timestamp(T0.0 + 60_000);

fn enterprises(b: &Seeded) -> Arc<dyn Enterprises> {
    match &b.backend {
        Backend::Sqlite(db) => Arc::new(db.clone()),
        Backend::Postgres(db) => Arc::new(db.clone()),
    }
}

/// A valid credit code numbered `n`.
fn code(n: u8) -> CreditCode {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRTUWXY";
    let body = format!(
        "MA9F8KX{}",
        char::from(LETTERS[usize::from(n) % LETTERS.len()])
    );
    CreditCode::from_parts('9', '1', "419001", &body).expect("a valid code")
}

/// Profile `id` numbered `id`, named `name`, with credit code `code(code_n)`, in town `a`.
fn new_profile(id: u8, code_n: u8, name: &str, key: bool) -> NewEnterprise {
    NewEnterprise {
        id: EnterpriseId::from_random_bytes([140 + id; 16]),
        credit_code: code(code_n),
        name: name.into(),
        address: format!("{name}路{id}号"),
        town: unit_id("a"),
        industry: "制造".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: key,
        position: key.then(|| Position::new(35.08, 112.59, 0.0).expect("a position")),
    }
}

/// An import of `new` (nothing present) as the administrator's.
async fn import(b: &Seeded, new: Vec<NewEnterprise>) -> Result<u64, StoreError> {
    let checked = CheckedEnterprises { new, present: 0 };
    let write = checked
        .write(AT, "admin", "enterprises.csv")
        .expect("documents");
    enterprises(b)
        .commit_server_write(write, Config::default(), AT)
        .await
}

fn everything() -> EnterpriseQuery {
    EnterpriseQuery {
        limit: 100,
        ..EnterpriseQuery::default()
    }
}

/// The names the list answers for `query`.
async fn names(b: &Seeded, query: EnterpriseQuery) -> Vec<String> {
    enterprises(b)
        .admin_enterprises(query)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect()
}

/// The audit log's entries after the first `from`: action, actor, subject, detail.
async fn entries_after(b: &Seeded, from: usize) -> Vec<(String, String, String, String)> {
    b.audit_log()
        .await
        .into_iter()
        .skip(from)
        .map(|e| (e.action, e.actor, e.subject, e.detail))
        .collect()
}

async fn an_imports_profiles_are_committed_with_its_entry_then_listed_and_shown(b: &Seeded) {
    let before = b.audit_log().await.len();
    let from = b.queries.feed_position().await.expect("feed");
    let seq = import(
        b,
        vec![
            new_profile(1, 1, "beta", false),
            new_profile(2, 2, "Gamma", true),
        ],
    )
    .await
    .expect("imported");
    assert_eq!(seq, from + 3, "two profiles and a monitoring document");
    assert_eq!(
        entries_after(b, before).await,
        [(
            "imported".into(),
            "admin".into(),
            "enterprises.csv".into(),
            "2 enterprise(s), 0 already present".into()
        )]
    );
    // By bytes: an upper-case letter before every lower-case one, whatever the collation.
    assert_eq!(names(b, everything()).await, ["Gamma", "beta"]);
    let rows = enterprises(b)
        .admin_enterprises(everything())
        .await
        .expect("list");
    assert_eq!(
        (
            rows[0].credit_code.as_str(),
            rows[0].town_name.as_str(),
            rows[0].key_enterprise,
            rows[0].duplicates,
            rows[0].merged_into.as_deref()
        ),
        (code(2).as_str(), "单位a", true, 0, None)
    );
    let search = |q: &str| EnterpriseQuery {
        q: q.into(),
        ..everything()
    };
    assert_eq!(
        names(b, search("GAMM")).await,
        ["Gamma"],
        "ASCII case ignored"
    );
    assert_eq!(
        names(b, search(&code(1).as_str().to_ascii_lowercase())).await,
        ["beta"],
        "a credit code found in lower case"
    );
    assert_eq!(names(b, search("beta路")).await, ["beta"], "by address");
    assert_eq!(
        names(b, search("%")).await,
        Vec::<String>::new(),
        "% is a character"
    );
    let paged = EnterpriseQuery {
        offset: 1,
        limit: 1,
        ..everything()
    };
    assert_eq!(names(b, paged).await, ["beta"]);

    let id = new_profile(2, 2, "Gamma", true).id;
    let stored = enterprises(b)
        .profile(id)
        .await
        .expect("read")
        .expect("stored");
    let view = enterprises::view_of(id, &stored).expect("a view");
    assert_eq!(
        (
            view.name.as_str(),
            view.credit_code.as_str(),
            view.town,
            view.key_enterprise,
            view.records,
        ),
        ("Gamma", code(2).as_str(), unit_id("a").to_string(), true, 0)
    );
    assert!(view.position.is_some() && view.absorbed.is_empty() && view.merged_into.is_none());
    let unknown = EnterpriseId::from_random_bytes([9; 16]);
    assert_eq!(enterprises(b).profile(unknown).await.expect("read"), None);
}

async fn a_credit_code_a_live_profile_holds_is_refused_and_nothing_is_stored(b: &Seeded) {
    import(b, vec![new_profile(1, 1, "beta", false)])
        .await
        .expect("imported");
    let before = b.audit_log().await.len();
    let from = b.queries.feed_position().await.expect("feed");
    let again = import(
        b,
        vec![
            new_profile(3, 3, "delta", false),
            new_profile(4, 1, "beta again", true),
        ],
    )
    .await;
    match again {
        Err(StoreError::Duplicate { key, .. }) => assert_eq!(key, code(1).as_str()),
        other => panic!("not refused as a duplicate: {other:?}"),
    }
    assert_eq!(
        names(b, everything()).await,
        ["beta"],
        "nothing of it stored"
    );
    assert_eq!(b.queries.feed_position().await.expect("feed"), from);
    assert_eq!(entries_after(b, before).await, []);
}

async fn two_imports_of_one_credit_code_at_once_store_it_once(b: &Seeded) {
    for round in 0..6_u8 {
        let (first, second) = tokio::join!(
            import(b, vec![new_profile(10 + 2 * round, 5 + round, "x", false)]),
            import(b, vec![new_profile(11 + 2 * round, 5 + round, "y", false)]),
        );
        let stored = [&first, &second].iter().filter(|r| r.is_ok()).count();
        assert_eq!(stored, 1, "round {round}: {first:?} {second:?}");
        assert!(
            [first, second]
                .into_iter()
                .any(|r| matches!(r, Err(StoreError::Duplicate { .. }))),
            "round {round}: the other is a duplicate"
        );
        let with_code = enterprises(b)
            .admin_enterprises(EnterpriseQuery {
                q: code(5 + round).as_str().into(),
                ..everything()
            })
            .await
            .expect("list");
        assert_eq!(with_code.len(), 1, "round {round}");
    }
}

async fn an_edit_commits_its_changed_fields_with_its_entry(b: &Seeded) {
    import(b, vec![new_profile(2, 2, "Gamma", true)])
        .await
        .expect("imported");
    let id = new_profile(2, 2, "Gamma", true).id;
    let acting = Acting {
        login: "admin".into(),
        user: Some(person("zhou").id),
    };
    let edit = EnterpriseEdit {
        name: Some("Gamma 2".into()),
        industry: Some("新材料".into()),
        ..EnterpriseEdit::default()
    };
    let stored = enterprises(b)
        .profile(id)
        .await
        .expect("read")
        .expect("stored");
    let at = Timestamp(AT.0 + 1_000);
    let write = enterprises::edited(id, &stored, &edit, at, &acting)
        .expect("a good edit")
        .expect("a change");
    let before = b.audit_log().await.len();
    let from = b.queries.feed_position().await.expect("feed");
    let seq = enterprises(b)
        .commit_server_write(write, Config::default(), at)
        .await
        .expect("committed");
    assert_eq!(seq, from + 1);
    assert_eq!(
        entries_after(b, before).await,
        [(
            "enterprise_edited".into(),
            "admin".into(),
            id.to_string(),
            "name,industry".into()
        )]
    );
    let stored = enterprises(b)
        .profile(id)
        .await
        .expect("read")
        .expect("stored");
    let view = enterprises::view_of(id, &stored).expect("a view");
    assert_eq!(
        (view.name.as_str(), view.industry.as_str()),
        ("Gamma 2", "新材料")
    );
    assert_eq!(
        names(b, everything()).await,
        ["Gamma 2"],
        "the list's projection"
    );
    assert!(
        enterprises::edited(id, &stored, &edit, at, &acting)
            .expect("a good edit")
            .is_none(),
        "the same values again change nothing"
    );
    let bad = EnterpriseEdit {
        name: Some(String::new()),
        ..EnterpriseEdit::default()
    };
    assert!(enterprises::edited(id, &stored, &bad, at, &acting).is_err());

    // Merged into another: refused, and hidden from the list unless asked for; an edit made
    // before the merge and committed after it stores nothing.
    let late = EnterpriseEdit {
        name: Some("Gamma 3".into()),
        ..EnterpriseEdit::default()
    };
    let late = enterprises::edited(id, &stored, &late, at, &acting)
        .expect("a good edit")
        .expect("a change");
    let survivor = EnterpriseId::from_random_bytes([150; 16]);
    b.execute(&format!(
        "INSERT INTO enterprise_merges (absorbed, survivor, merged_at, merged_by) \
         VALUES ('{id}', '{survivor}', 0, 'admin')"
    ))
    .await
    .expect("a merge row");
    let stored = enterprises(b)
        .profile(id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.merged_into, Some(survivor));
    assert!(enterprises::edited(id, &stored, &edit, at, &acting).is_err());
    let from = b.queries.feed_position().await.expect("feed");
    let refused = enterprises(b)
        .commit_server_write(late, Config::default(), at)
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(why)) if why.contains("merged into")),
        "{refused:?}"
    );
    assert_eq!(b.queries.feed_position().await.expect("feed"), from);
    assert_eq!(names(b, everything()).await, Vec::<String>::new());
    let merged = EnterpriseQuery {
        merged: true,
        ..everything()
    };
    let rows = enterprises(b)
        .admin_enterprises(merged)
        .await
        .expect("list");
    assert_eq!(rows[0].merged_into, Some(survivor.to_string()));
}

async fn profiles_sharing_a_credit_code_are_counted_as_duplicates(b: &Seeded) {
    import(b, vec![new_profile(1, 1, "beta", false)])
        .await
        .expect("imported");
    // Another profile of the same code, as a phone's or an older import's would be.
    let other = EnterpriseId::from_random_bytes([151; 16]);
    b.execute(&format!(
        "INSERT INTO enterprises (id, credit_code, name, address, town, industry, size, \
         key_enterprise) VALUES ('{other}', '{}', 'beta 2', '', '{}', '', 'below', 0)",
        code(1).as_str(),
        unit_id("b")
    ))
    .await
    .expect("a second profile");
    import(b, vec![new_profile(2, 2, "Gamma", false)])
        .await
        .expect("imported");
    let only = EnterpriseQuery {
        duplicates: true,
        ..everything()
    };
    let rows = enterprises(b).admin_enterprises(only).await.expect("list");
    let listed: Vec<(&str, u32, &str)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.duplicates, r.town_name.as_str()))
        .collect();
    assert_eq!(listed, [("beta", 1, "单位a"), ("beta 2", 1, "单位b")]);
}

on_both_backends!(
    an_imports_profiles_are_committed_with_its_entry_then_listed_and_shown,
    a_credit_code_a_live_profile_holds_is_refused_and_nothing_is_stored,
    two_imports_of_one_credit_code_at_once_store_it_once,
    an_edit_commits_its_changed_fields_with_its_entry,
    profiles_sharing_a_credit_code_are_counted_as_duplicates,
);
