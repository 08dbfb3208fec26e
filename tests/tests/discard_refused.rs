//! A change the rights table refuses is refused alone, with the reason on the device, and the
//! person may discard it: the record goes back to what the server has (or, when the server
//! never took any of it, leaves the device), nothing waits to upload any more, and the next
//! allowed edit syncs as usual. Real server on a demo district, native devices.

use anyhow::Context as _;
use server::demo::DEMO_PASSWORD;
use shared::config::Config;
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{EnterpriseId, ProblemClass, ProblemId, ProblemSource, Tier};
use shared::sync::client::DiscardError;
use shared::sync::protocol::{DocId, Refusal};
use tests::DemoServer;
use tests::device::{NativeDevice, id_bytes, wall_clock};

/// A problem document on `device` other than `except`.
fn some_problem(device: &NativeDevice, except: Option<&DocId>) -> anyhow::Result<DocId> {
    device
        .client
        .replica()
        .ids()
        .find(|d| d.kind() == DocKind::Problem && Some(*d) != except)
        .cloned()
        .context("the device holds a problem")
}

/// The one refusal on `device`, which must concern `id`.
fn the_refusal(device: &mut NativeDevice, id: &DocId) -> anyhow::Result<String> {
    let refused = device.status().refused;
    anyhow::ensure!(refused.len() == 1, "one refusal, got {refused:?}");
    anyhow::ensure!(
        &refused[0].0 == id,
        "the refusal concerns the edited record"
    );
    Ok(match &refused[0].1 {
        Refusal::Forbidden(why) | Refusal::Invalid(why) => why.clone(),
        other => format!("{other:?}"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_refused_category_change_is_discarded_back_to_the_servers_record()
-> anyhow::Result<()> {
    let demo = DemoServer::start().await?;
    let mut phone =
        NativeDevice::logged_in(1, &demo.server.url(""), "handler1", DEMO_PASSWORD).await?;
    phone.sync().await?;
    let id = some_problem(&phone, None)?;
    let before = phone.problem(&id)?;
    let other = Config::default()
        .categories
        .iter()
        .map(|c| c.code.clone())
        .find(|c| *c != before.category)
        .context("a second category")?;

    // A department handler does not change the category: the server refuses the record.
    phone.edit_problem(&id, |doc, actor| {
        doc.edit(&Config::default(), actor, wall_clock(), |p| {
            p.set_category(&other)
        })?;
        Ok(())
    })?;
    phone.sync().await?;
    let why = the_refusal(&mut phone, &id)?;
    ensure_mentions(&why, "category")?;
    anyhow::ensure!(
        phone.problem(&id)?.category == other,
        "kept until discarded"
    );

    // Edited again since the refusal: the new edit waits to upload, and is not discarded
    // under it; once refused too, it is.
    phone.edit_problem(&id, |doc, actor| {
        doc.edit(&Config::default(), actor, wall_clock(), |p| {
            p.set_description("企业反映的用电问题（补充）")
        })?;
        Ok(())
    })?;
    anyhow::ensure!(
        matches!(phone.client.discard(&id), Err(DiscardError::Uploading)),
        "a record edited since its refusal is not discarded"
    );
    phone.sync().await?;
    the_refusal(&mut phone, &id)?;
    phone.discard(&id)?;
    let status = phone.status();
    anyhow::ensure!(status.refused.is_empty(), "no refusal left: {status:?}");
    anyhow::ensure!(status.waiting == 0, "nothing waits to upload: {status:?}");
    anyhow::ensure!(
        phone.problem(&id)?.category == before.category,
        "the record is the server's again"
    );
    phone.restart()?;
    anyhow::ensure!(
        phone.problem(&id)?.category == before.category && phone.status().refused.is_empty(),
        "the discard is on the device's disk"
    );

    // What the handler may change still syncs.
    phone.edit_problem_description(&id, "已联系供电公司，正在排期。")?;
    phone.sync().await?;
    let status = phone.status();
    anyhow::ensure!(
        status.refused.is_empty() && status.waiting == 0,
        "the allowed edit is accepted: {status:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_problem_the_server_refuses_leaves_the_device_when_discarded() -> anyhow::Result<()> {
    let demo = DemoServer::start().await?;
    let mut phone =
        NativeDevice::logged_in(2, &demo.server.url(""), "officer1", DEMO_PASSWORD).await?;
    phone.sync().await?;
    let enterprise = phone
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == DocKind::Enterprise)
        .context("officer1 has an enterprise")?
        .root_id()
        .to_string();
    let config = Config::default();
    // Only a leader puts a problem at the city-leader tier.
    let pid = ProblemId::from_random_bytes(id_bytes(77, 1));
    let new = NewProblem {
        id: pid,
        enterprise: EnterpriseId::parse(&enterprise)?,
        visit: None,
        source: ProblemSource::Visit,
        category: config.categories[0].code.clone(),
        class: ProblemClass::B,
        tier: Tier::CityLeader,
        owner: phone.actor.user,
        leader: None,
        deadline: shared::derive::initial_deadline(&config, Tier::CityLeader, wall_clock()),
        description: "园区道路破损，货车无法通行。".into(),
        expectation: "尽快修复。".into(),
    };
    let doc = ProblemDoc::create(
        &new,
        &config,
        &phone.actor,
        phone.actor_id.clone(),
        wall_clock(),
    )?;
    let id = DocId::new(DocKind::Problem, &pid.to_string());
    phone.add_record(id.clone(), doc.into_record())?;
    phone.sync().await?;
    ensure_mentions(&the_refusal(&mut phone, &id)?, "tier")?;

    // A record the server has not refused is not discarded: its edits wait to upload.
    let other = some_problem(&phone, Some(&id))?;
    anyhow::ensure!(
        matches!(phone.client.discard(&other), Err(DiscardError::NotRefused)),
        "only a refused record is discarded"
    );

    phone.discard(&id)?;
    anyhow::ensure!(
        phone.client.replica().get(&id).is_none(),
        "it left the device"
    );
    phone.restart()?;
    anyhow::ensure!(
        phone.client.replica().get(&id).is_none(),
        "and is gone from the device's disk"
    );
    phone.sync().await?;
    let status = phone.status();
    anyhow::ensure!(
        status.refused.is_empty() && status.waiting == 0,
        "nothing refused or waiting: {status:?}"
    );
    Ok(())
}

fn ensure_mentions(why: &str, word: &str) -> anyhow::Result<()> {
    anyhow::ensure!(why.contains(word), "the reason names the {word}: {why}");
    Ok(())
}
