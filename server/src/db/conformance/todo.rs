//! The documents an officer's to-do is computed from ([`crate::db::Queries::todo_documents`])
//! on both backends: those of the problems the officer owns or holding a supervision
//! instruction addressed to them or to their unit, settled ones left out, by problem id.

use shared::doc::DocKind;
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::{Backend, Seeded, enterprise, person, problem, unit_id};

impl Seeded {
    /// Seeds the stored document of problem `n`: the bytes `[n; 3]`.
    async fn problem_doc(&self, n: u8) {
        let id = DocId::new(DocKind::Problem, &problem(n).to_string());
        let bytes = match self.backend {
            Backend::Sqlite(_) => format!("X'{n:02x}{n:02x}{n:02x}'"),
            Backend::Postgres(_) => format!("decode('{n:02x}{n:02x}{n:02x}', 'hex')"),
        };
        let empty = match self.backend {
            Backend::Sqlite(_) => "X''",
            Backend::Postgres(_) => "decode('', 'hex')",
        };
        let sql = format!(
            "INSERT INTO docs (doc_id, kind, enterprise, seq, snapshot, heads, updated_at) \
             VALUES ('{}', 'problem', '{}', {n}, {bytes}, {empty}, 0)",
            id.as_str(),
            enterprise(1)
        );
        self.execute(&sql).await.expect("seed a problem document");
    }

    /// Seeds a supervision instruction on problem `n` addressed to `to_person` or `to_unit`.
    async fn instruction(&self, n: u8, to_person: Option<&str>, to_unit: Option<&str>) {
        let quoted = |v: Option<String>| v.map_or_else(|| "NULL".to_string(), |v| format!("'{v}'"));
        let sql = format!(
            "INSERT INTO progress (id, problem, kind, text, \"by\", device, at, to_person, \
             to_unit) VALUES ('s{n}', '{}', 'supervision', '督办', '{}', 'd', 0, {}, {})",
            problem(n),
            person("zhou").id,
            quoted(to_person.map(|p| person(p).id.to_string())),
            quoted(to_unit.map(|u| unit_id(u).to_string())),
        );
        self.execute(&sql).await.expect("seed an instruction");
    }
}

async fn the_to_do_loads_owned_and_addressed_problems_documents_but_not_settled_ones(
    seeded: &Seeded,
) {
    seeded.enterprise(1, "a").await;
    // 1: wang's own; 2: wang's own, withdrawn (settled); 3: an instruction to wang; 4: an
    // instruction to wang's unit; 5: an instruction to someone else; 6: nothing of wang's.
    for (n, owner) in [
        (1, "wang"),
        (2, "wang"),
        (3, "zhao"),
        (4, "zhao"),
        (5, "zhao"),
        (6, "zhao"),
    ] {
        seeded.problem(n, 1, owner, owner, &["a"]).await;
        seeded.problem_doc(n).await;
    }
    seeded
        .execute(&format!(
            "UPDATE problems SET state = 'withdrawn' WHERE id = '{}'",
            problem(2)
        ))
        .await
        .expect("settle a problem");
    seeded.instruction(3, Some("wang"), None).await;
    seeded.instruction(4, None, Some("zone")).await;
    seeded.instruction(5, Some("zhao"), Some("b")).await;
    let wang = person("wang");
    let docs = seeded
        .queries
        .todo_documents(Scope::All, wang.id, wang.org_unit)
        .await
        .expect("the to-do's documents");
    assert_eq!(docs, vec![vec![1u8; 3], vec![3; 3], vec![4; 3]]);
}

on_both_backends!(the_to_do_loads_owned_and_addressed_problems_documents_but_not_settled_ones);
