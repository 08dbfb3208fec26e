//! The API answers as its OpenAPI document says: schemathesis (from PyPI, written by nobody
//! here) generates requests from `GET /api/openapi.json` — valid ones, invalid ones, missing
//! headers and wrong methods — and checks every answer against the document, as a leader and
//! as an officer, against the demo district. Exceptions are only the rules a JSON schema
//! cannot state (tests/api/schemathesis.toml says which and why).

use tests::raw::demo_token;

/// Examples per operation and phase: enough to reach every parameter's edge cases, bounded
/// so the suite stays fast.
const EXAMPLES: u32 = 30;

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_and_an_officer_find_no_difference_between_the_api_and_its_document()
-> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let base = demo.server.url("");
    // Both log in before either run: the generated login attempts fail and throttle this
    // address, which would refuse a later login.
    let leader = demo_token(&base, "leader1", 1).await?;
    let officer = demo_token(&base, "officer1", 2).await?;

    for (who, token, seed) in [("leader1", leader, 1), ("officer1", officer, 2)] {
        let base = base.clone();
        let run = tokio::task::spawn_blocking(move || {
            tests::schemathesis::run(&base, &token, EXAMPLES, seed)
        })
        .await??;
        assert!(
            run.passed,
            "schemathesis as {who} found the API and its document apart:\n{}",
            run.output
        );
    }
    Ok(())
}
