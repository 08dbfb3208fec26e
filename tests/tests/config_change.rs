//! A district changes its configuration: rules apply to values being set, never to values
//! already stored. Through the real server's sync (in-process, a real SQLite file), a server
//! restarted on the same file with a configuration that removes a category and renames
//! another keeps every older problem of the removed category editable and its workflow going
//! up to sign-off, and refuses only setting the removed category, with a reason that says so.

use shared::config::{Category, Config};
use shared::model::{ProblemState, Tier};
use shared::sync::protocol::{DocId, Outcome, Refusal};
use shared::workflow::{self, Action};
use tests::problem_world::{Who, World, now};

/// The default configuration without `power`, with `land` renamed and a new `energy`.
fn district_without_power() -> Config {
    let mut config = Config::default();
    config.categories.retain(|c| c.code != "power");
    for c in &mut config.categories {
        if c.code == "land" {
            c.zh = "土地要素".into();
            c.en = "Land use".into();
        }
    }
    config.categories.push(Category {
        code: "energy".into(),
        zh: "能源保障".into(),
        en: "Energy supply".into(),
    });
    config
}

fn accepted(out: &Outcome) -> bool {
    matches!(out, Outcome::Accepted { .. })
}

/// The refusal names the removed category and says it is no longer configured.
fn refused_as_unconfigured(out: &Outcome) -> bool {
    matches!(out, Outcome::Refused(Refusal::Invalid(why))
        if why.contains("category \"power\" is not one of the district's configured categories"))
}

/// Wang sets the category of a stored problem on a phone that runs `phone` (its own check of
/// the value lets through what that configuration lists).
async fn set_category(
    world: &World,
    phone: &Config,
    id: &DocId,
    code: &str,
) -> anyhow::Result<Outcome> {
    let code = code.to_string();
    world
        .push(Who::Wang, id, move |doc, actor| {
            doc.edit(phone, actor, now(), |p| p.set_category(&code))?;
            Ok(())
        })
        .await
}

#[tokio::test]
async fn an_older_problem_of_a_removed_category_is_edited_and_signed_off() -> anyhow::Result<()> {
    let mut world = World::new().await?;
    let old = world.raise(Tier::Department).await?;
    let out = world.act(Who::Clerk, &old, Action::Triage).await?;
    anyhow::ensure!(
        accepted(&out),
        "triaged under the old configuration: {out:?}"
    );

    world.restart(district_without_power()).await?;

    let out = world
        .push(Who::Wang, &old, |doc, actor| {
            doc.edit(&Config::default(), actor, now(), |p| {
                p.set_description("变压器容量不足，已报供电公司增容")
            })?;
            Ok(())
        })
        .await?;
    assert!(
        accepted(&out),
        "the description of an older problem: {out:?}"
    );
    let d1 = world.d1;
    for (who, action) in [
        (Who::Clerk, Action::Assign { unit: d1 }),
        (Who::H1, Action::Accept),
        (Who::H1, Action::Start),
        (Who::H1, Action::Respond),
        (Who::Wang, Action::Confirm),
        (Who::Wang, Action::SignOff { waiver: false }),
    ] {
        let code = action.code();
        let out = world.act(who, &old, action).await?;
        assert!(accepted(&out), "{who:?} takes {code}: {out:?}");
    }
    let (doc, _) = world.load(Who::Boss, &old).await?;
    let problem = doc.read()?;
    assert_eq!(problem.category, "power", "the stored category stays");
    assert_eq!(workflow::replay(&problem).state, ProblemState::SignedOff);
    Ok(())
}

#[tokio::test]
async fn the_removed_category_cannot_be_set_on_a_new_or_an_existing_problem() -> anyhow::Result<()>
{
    let mut world = World::new().await?;
    let existing = world.raise(Tier::Department).await?;

    world.restart(district_without_power()).await?;

    // A new problem of the removed category (raised on a phone that still offers it).
    let (_, pushed) = world
        .raise_as(Who::Clerk, Tier::Department, now(), false)
        .await?;
    assert!(
        refused_as_unconfigured(&pushed.outcome),
        "a new problem of the removed category: {:?}",
        pushed.outcome
    );

    // An existing problem moves to a configured category, then back to the removed one (on a
    // phone that still runs the old configuration).
    let out = set_category(&world, &district_without_power(), &existing, "energy").await?;
    assert!(accepted(&out), "a configured category: {out:?}");
    let out = set_category(&world, &Config::default(), &existing, "power").await?;
    assert!(
        refused_as_unconfigured(&out),
        "back to the removed category: {out:?}"
    );
    let (doc, _) = world.load(Who::Boss, &existing).await?;
    assert_eq!(doc.read()?.category, "energy");
    Ok(())
}
