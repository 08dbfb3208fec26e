//! Re-scoping on a server on PostgreSQL (issue 16): when an enterprise moves from one officer
//! to another, the officer's phone is served from cursor 0 in its new scope and told to remove
//! what it may no longer read, as on SQLite (`store/rescope.rs`, one rule for both): after its
//! next syncs it holds exactly what a phone of that officer logging in for the first time gets.

use std::collections::BTreeSet;

use shared::sync::protocol::DocId;
use tests::device::{NativeDevice, wall_clock};
use tests::pg::{Throwaway, connect};
use tests::process::ServerProcess;

/// The documents a phone holds.
fn held(phone: &NativeDevice) -> BTreeSet<DocId> {
    phone.client.replica().ids().cloned().collect()
}

/// The first enterprise (in id order) `login` looks after now.
async fn first_enterprise(db: &tokio_postgres::Client, login: &str) -> anyhow::Result<String> {
    let row = db
        .query_one(
            "SELECT a.enterprise FROM assignments a JOIN users u ON u.id = a.user_id \
             WHERE u.login = $1 AND a.valid_to IS NULL ORDER BY a.enterprise LIMIT 1",
            &[&login],
        )
        .await?;
    Ok(row.get(0))
}

/// Moves `enterprise` from whoever looks after it to `login`, as of `at` (ms).
async fn hand_to(
    db: &tokio_postgres::Client,
    enterprise: &str,
    login: &str,
    at: i64,
) -> anyhow::Result<()> {
    db.execute(
        "UPDATE assignments SET valid_to = $2 WHERE enterprise = $1 AND valid_to IS NULL",
        &[&enterprise, &at],
    )
    .await?;
    db.execute(
        "INSERT INTO assignments (enterprise, user_id, valid_from) \
         SELECT $1, id, $2 FROM users WHERE login = $3",
        &[&enterprise, &at, &login],
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_whose_enterprises_moved_ends_up_holding_what_a_new_phone_of_its_officer_gets()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let server = ServerProcess::start_postgres(&url, "127.0.0.1:0".parse()?, true, cwd.path())?;
    let db = connect(&url).await?;
    let password = server::demo::DEMO_PASSWORD;
    let mut phone = NativeDevice::logged_in(1, &server.url(), "officer1", password).await?;
    phone.sync().await?;
    let before = held(&phone);

    // One of officer1's enterprises goes to officer2, one of officer2's comes to officer1.
    let (leaving, arriving) = (
        first_enterprise(&db, "officer1").await?,
        first_enterprise(&db, "officer2").await?,
    );
    let at = wall_clock().0 - 1_000;
    hand_to(&db, &leaving, "officer2", at).await?;
    hand_to(&db, &arriving, "officer1", at).await?;
    let docs_of = |enterprise: String| {
        let db = &db;
        async move {
            let rows = db
                .query(
                    "SELECT doc_id FROM docs WHERE enterprise = $1",
                    &[&enterprise],
                )
                .await?;
            rows.iter()
                .map(|r| DocId::parse(r.get(0)).map_err(anyhow::Error::from))
                .collect::<anyhow::Result<BTreeSet<DocId>>>()
        }
    };
    let (left, arrived) = (docs_of(leaving).await?, docs_of(arriving).await?);
    assert!(
        !left.is_disjoint(&before) && arrived.is_disjoint(&before),
        "the phone holds the leaving enterprise's documents and none of the arriving one's"
    );

    // Two syncs: the re-scoped answer, then its acknowledgement (which confirms the scope).
    phone.sync().await?;
    phone.sync().await?;
    let mut fresh = NativeDevice::logged_in(2, &server.url(), "officer1", password).await?;
    fresh.sync().await?;

    let (now_held, expected) = (held(&phone), held(&fresh));
    assert!(
        arrived.is_subset(&expected) && left.is_disjoint(&expected),
        "a new phone of officer1 gets the arriving enterprise and not the leaving one"
    );
    assert_eq!(
        now_held.difference(&expected).collect::<Vec<_>>(),
        Vec::<&DocId>::new(),
        "the phone kept documents it may no longer read"
    );
    assert_eq!(
        expected.difference(&now_held).collect::<Vec<_>>(),
        Vec::<&DocId>::new(),
        "the phone never got documents of its new scope"
    );
    Ok(())
}
