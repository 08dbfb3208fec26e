//! People and assignments the administrator adds ([`crate::db::Directory`]'s
//! `org_unit_by_code`, `add_people`, `enterprises_by_credit_code` and `import_assignments`)
//! on both backends: everyone of a file with their phone number and an audit entry each, then
//! the import's own entry, in one transaction; a taken login, a login given twice or an
//! unknown org unit adds no one and writes no entry; a file's assignments with the import's
//! entry, or, with an empty period among them, none.

use shared::model::{Assignment, Role, Timestamp, User, UserId};

use super::{Seeded, T0, enterprise, person, unit_id};
use crate::store::{ImportedUser, NewUser, PasswordHash, StoreError};

/// When the people are added.
const AT: Timestamp = Timestamp(T0.0 + 9_000);

/// A new person numbered `n`, logging in as `login`, an officer of the unit `unit`.
fn row(n: u8, login: &str, unit: &str) -> ImportedUser {
    ImportedUser {
        new: NewUser {
            user: User {
                id: UserId::from_random_bytes([120 + n; 16]),
                login: login.into(),
                name: format!("新人{n}"),
                role: Role::Officer,
                org_unit: unit_id(unit),
            },
            password_hash: PasswordHash(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${n}")),
        },
        phone: Some(format!("0371-{n}")),
        detail: format!("新人{n} officer in {unit} (users.csv)"),
    }
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

/// How many people `login` names whose phone is `phone` (counted by an update that changes
/// nothing: the one statement both backends' raw runner answers with a count).
async fn with_phone(b: &Seeded, login: &str, phone: &str) -> u64 {
    let sql =
        format!("UPDATE users SET phone = phone WHERE login = '{login}' AND phone = '{phone}'");
    b.execute(&sql).await.expect("count")
}

async fn a_files_people_are_added_with_an_entry_each_then_the_imports(b: &Seeded) {
    let before = b.audit_log().await.len();
    let import = Some(("users.csv".to_string(), "2 user(s)".to_string()));
    b.directory
        .add_people(
            vec![row(1, "new-a", "a"), row(2, "new-b", "zone")],
            AT,
            "admin".into(),
            import,
        )
        .await
        .expect("added");
    let a = b
        .directory
        .user_by_login("new-a".into())
        .await
        .expect("find")
        .expect("new-a is stored");
    assert_eq!(a.user, row(1, "new-a", "a").new.user);
    assert_eq!(a.password_hash, row(1, "new-a", "a").new.password_hash);
    assert!(!a.disabled);
    assert_eq!(with_phone(b, "new-b", "0371-2").await, 1, "new-b's phone");
    let entry = |action: &str, subject: &str, detail: &str| {
        (action.into(), "admin".into(), subject.into(), detail.into())
    };
    assert_eq!(
        entries_after(b, before).await,
        [
            entry("user_added", "new-a", "新人1 officer in a (users.csv)"),
            entry("user_added", "new-b", "新人2 officer in zone (users.csv)"),
            entry("imported", "users.csv", "2 user(s)"),
        ]
    );
    // One person the administrator adds: their entry alone.
    b.directory
        .add_people(vec![row(3, "new-c", "b")], AT, "admin".into(), None)
        .await
        .expect("added");
    assert_eq!(
        entries_after(b, before + 3).await,
        [entry(
            "user_added",
            "new-c",
            "新人3 officer in b (users.csv)"
        )]
    );
}

async fn a_taken_login_a_login_given_twice_or_an_unknown_unit_adds_no_one(b: &Seeded) {
    let before = b.audit_log().await.len();
    let mut nowhere = row(7, "new-g", "a");
    nowhere.new.user.org_unit = shared::model::OrgUnitId::from_random_bytes([99; 16]);
    let files = [
        (vec![row(1, "new-a", "a"), row(2, "wang", "zone")], "taken"),
        (vec![row(3, "new-c", "a"), row(4, "new-c", "a")], "twice"),
        (vec![row(5, "new-e", "a"), nowhere], "unknown unit"),
    ];
    for (people, what) in files {
        let logins: Vec<String> = people.iter().map(|p| p.new.user.login.clone()).collect();
        let refused = b
            .directory
            .add_people(people, AT, "admin".into(), None)
            .await;
        match what {
            "unknown unit" => assert!(
                matches!(refused, Err(StoreError::NotFound { .. })),
                "{what}: {refused:?}"
            ),
            _ => assert!(
                matches!(refused, Err(StoreError::Duplicate { .. })),
                "{what}: {refused:?}"
            ),
        }
        let first = b
            .directory
            .user_by_login(logins[0].clone())
            .await
            .expect("find");
        assert!(first.is_none(), "{what}: {} was added", logins[0]);
    }
    assert_eq!(entries_after(b, before).await, [], "entries were written");
    let wang = b
        .directory
        .user_by_login("wang".into())
        .await
        .expect("find");
    assert_eq!(wang.map(|w| w.user.name), Some("姓名wang".to_string()));
}

async fn an_org_unit_is_found_by_its_code(b: &Seeded) {
    let found = b
        .directory
        .org_unit_by_code("d1".into())
        .await
        .expect("find");
    assert_eq!(
        found.map(|u| (u.code, u.unit)),
        Some(("d1".to_string(), super::org_unit("d1")))
    );
    let none = b
        .directory
        .org_unit_by_code("nowhere".into())
        .await
        .expect("find");
    assert_eq!(none, None);
}

/// Credit codes of the seeded enterprises (valid ones: both check characters).
const CODE_A: &str = "91410100MA00000000";

/// Seeds enterprise `n`'s profile in town `a` with credit code `code`.
async fn enterprise_with(b: &Seeded, n: u8, code: &str) {
    let id = enterprise(n);
    let town = unit_id("a");
    let sql = format!(
        "INSERT INTO enterprises (id, credit_code, name, address, town, industry, size, \
         key_enterprise) VALUES ('{id}', '{code}', '企业{n}', '', '{town}', 'other', 'small', 0)"
    );
    b.execute(&sql).await.expect("seed an enterprise");
}

async fn enterprises_are_found_by_credit_code_the_smallest_id_of_a_shared_one_unmerged(b: &Seeded) {
    // Enterprise 1 alone under A; 2 and 3 share B; 4, under C, was merged into 1.
    let (a, bee, c) = (CODE_A, "code-b", "code-c");
    for (n, code) in [(1, a), (3, bee), (2, bee), (4, c)] {
        enterprise_with(b, n, code).await;
    }
    let merged = format!(
        "INSERT INTO enterprise_merges (absorbed, survivor, merged_at, merged_by) \
         VALUES ('{}', '{}', 0, 'admin')",
        enterprise(4),
        enterprise(1)
    );
    b.execute(&merged).await.expect("merge");
    let asked = [a, bee, c, "code-d"].map(String::from).to_vec();
    let found = b
        .directory
        .enterprises_by_credit_code(asked)
        .await
        .expect("found");
    let smaller = enterprise(2).min(enterprise(3));
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        [(a.to_string(), enterprise(1)), (bee.to_string(), smaller)]
    );
}

/// How many assignments `enterprise` `n` has from `from` (counted by an update that changes
/// nothing).
async fn assignments_of(b: &Seeded, n: u8, from: Timestamp) -> u64 {
    let sql = format!(
        "UPDATE assignments SET valid_from = valid_from WHERE enterprise = '{}' \
         AND valid_from = {}",
        enterprise(n),
        from.0
    );
    b.execute(&sql).await.expect("count")
}

async fn a_files_assignments_are_stored_with_the_imports_entry_or_none_of_them(b: &Seeded) {
    let before = b.audit_log().await.len();
    let to = |n: u8, login: &str, until: Option<Timestamp>| Assignment {
        enterprise: enterprise(n),
        user: person(login).id,
        valid_from: AT,
        valid_to: until,
    };
    let empty = to(8, "li", Some(AT));
    let refused = b
        .directory
        .import_assignments(
            vec![to(7, "wang", None), empty],
            AT,
            "admin".into(),
            "assignments.csv".into(),
            "2 assignment(s)".into(),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(assignments_of(b, 7, AT).await, 0, "a row of a refused file");
    assert_eq!(entries_after(b, before).await, []);

    let later = Timestamp(AT.0 + 86_400_000);
    b.directory
        .import_assignments(
            vec![to(7, "wang", None), to(8, "li", Some(later))],
            AT,
            "admin".into(),
            "assignments.csv".into(),
            "2 assignment(s)".into(),
        )
        .await
        .expect("imported");
    assert_eq!(assignments_of(b, 7, AT).await, 1);
    assert_eq!(assignments_of(b, 8, AT).await, 1);
    assert_eq!(
        entries_after(b, before).await,
        [(
            "imported".into(),
            "admin".into(),
            "assignments.csv".into(),
            "2 assignment(s)".into()
        )]
    );
}

on_both_backends!(
    enterprises_are_found_by_credit_code_the_smallest_id_of_a_shared_one_unmerged,
    a_files_assignments_are_stored_with_the_imports_entry_or_none_of_them,
    a_files_people_are_added_with_an_entry_each_then_the_imports,
    a_taken_login_a_login_given_twice_or_an_unknown_unit_adds_no_one,
    an_org_unit_is_found_by_its_code,
);
