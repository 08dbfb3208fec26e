//! Batch actions (批处理) on the selected rows: hand out to a department, extend, escalate —
//! recorded on the problems' documents on this device (`shared::forms::apply_batch`, each
//! step under the workflow's guards), saved together in one `Core::save`, with a result line
//! per problem; and the department picker the problem screen shares.

use std::rc::Rc;

use shared::doc::{DocKind, ProblemDoc};
use shared::forms::{BatchAction, BatchRefusal, apply_batch};
use shared::model::{EntryId, OrgUnitId, ProblemId};
use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::super::widgets::{bind, bind_select};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::platform;
use crate::infra::route::Route;
use crate::sync::Core;

/// One line of a batch's result.
#[derive(Debug, Clone, PartialEq)]
struct ResultLine {
    id: ProblemId,
    name: String,
    ok: bool,
    text: String,
}

/// A batch's outcome: per-problem lines, and whether the device stored the changes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BatchOutcome {
    lines: Vec<ResultLine>,
    saved: Option<Result<(), String>>,
}

fn refusal_text(lang: Lang, e: &BatchRefusal) -> String {
    match e {
        BatchRefusal::TopTier => lang
            .pick(
                "已是最高层级，无法再升级。",
                "Already at the top tier: nothing to escalate to.",
            )
            .into(),
        BatchRefusal::Denied(d) => match lang {
            Lang::ZhHans => d.zh(),
            Lang::En => d.en(),
        },
        BatchRefusal::Doc(d) => i18n::doc_error(lang, d),
    }
}

/// The department picker: the directory's departments, or the unit id typed in when the
/// directory has none yet.
pub fn unit_picker(
    lang: Lang,
    id: &str,
    value: &UseStateHandle<String>,
    departments: &[(OrgUnitId, String)],
) -> Html {
    if departments.is_empty() {
        return html! {
            <input id={id.to_string()} type="text" autocapitalize="off" class="mono"
                placeholder={lang.pick("部门编号", "Department id")}
                value={(**value).clone()} oninput={bind(value)} />
        };
    }
    let onchange = bind_select(value);
    html! {
        <select id={id.to_string()} {onchange}>
            <option value="" selected={value.is_empty()} disabled=true>{ lang.pick("选择部门", "Choose a department") }</option>
            { for departments.iter().map(|(unit, name)| {
                let code = unit.to_string();
                let selected = code == **value;
                html! { <option value={code} {selected}>{ name.clone() }</option> }
            }) }
        </select>
    }
}

/// Records `action` on the selected problems that are on this device and saves every edited
/// document in one `Core::save`; each selected problem gets a result line.
pub(super) fn run_batch(
    core: &Rc<Core>,
    lang: Lang,
    action: BatchAction,
    reason: &str,
    targets: Vec<(ProblemId, String)>,
    outcome: UseStateHandle<Option<BatchOutcome>>,
) {
    let Some(actor) = core.actor() else {
        outcome.set(Some(BatchOutcome {
            lines: Vec::new(),
            saved: Some(Err(lang.t(Key::NotLoggedIn).into())),
        }));
        return;
    };
    let now = platform::now();
    let mut saves = Vec::new();
    let mut lines = Vec::new();
    for (id, name) in targets {
        let doc_id = DocId::new(DocKind::Problem, &id.to_string());
        let Some(record) = core.doc(&doc_id) else {
            lines.push(ResultLine {
                id,
                name,
                ok: false,
                text: lang
                    .pick(
                        "本机还没有这个问题的记录，已跳过。",
                        "Not on this device yet: skipped.",
                    )
                    .into(),
            });
            continue;
        };
        let applied = ProblemDoc::from_record(record)
            .map_err(BatchRefusal::from)
            .and_then(|doc| {
                apply_batch(&doc, action, &actor, now, reason, || {
                    EntryId::from_random_bytes(platform::random_bytes())
                })
            });
        match applied {
            Ok((doc, state)) => {
                saves.push((doc_id, doc.into_record()));
                lines.push(ResultLine {
                    id,
                    name,
                    ok: true,
                    text: format!(
                        "{}{}",
                        lang.pick("成功，现为：", "Done, now: "),
                        lang.pick(state.zh(), state.en())
                    ),
                });
            }
            Err(e) => lines.push(ResultLine {
                id,
                name,
                ok: false,
                text: refusal_text(lang, &e),
            }),
        }
    }
    if saves.is_empty() {
        outcome.set(Some(BatchOutcome { lines, saved: None }));
        return;
    }
    outcome.set(Some(BatchOutcome {
        lines: lines.clone(),
        saved: None,
    }));
    core.save(
        saves,
        Callback::from(move |r: Result<(), crate::sync::SaveError>| {
            let lines = lines.clone();
            outcome.set(Some(BatchOutcome {
                lines,
                saved: Some(r.map_err(|e| i18n::save_error(lang, &e))),
            }));
        }),
    );
}

pub(super) fn batch_result(lang: Lang, o: &BatchOutcome) -> Html {
    let ok = o.lines.iter().filter(|l| l.ok).count();
    let refused = o.lines.len() - ok;
    let summary = lang
        .pick("{ok} 个成功，{no} 个未执行。", "{ok} done, {no} not done.")
        .replace("{ok}", &ok.to_string())
        .replace("{no}", &refused.to_string());
    let saved = match &o.saved {
        Some(Ok(())) => html! { <p class="hint saved">{ lang.t(Key::SavedOnDevice) }</p> },
        Some(Err(m)) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
        None if ok > 0 => html! { <p class="hint">{ lang.pick("正在保存…", "Saving…") }</p> },
        None => html! {},
    };
    let state = match &o.saved {
        Some(Ok(())) => "saved",
        Some(Err(_)) => "failed",
        None if ok > 0 => "saving",
        None => "done",
    };
    html! {
        <div class="batch-result" role="status" data-ok={ok.to_string()} data-refused={refused.to_string()} data-state={state}>
            <p><strong>{ summary }</strong></p>
            { saved }
            <ul class="batch-lines">
                { for o.lines.iter().map(|l| html! {
                    <li class={if l.ok { "batch-ok" } else { "batch-refused" }} data-id={l.id.to_string()}>
                        <a href={Route::Problem(l.id).hash()}>{ if l.name.is_empty() { l.id.to_string()[..8].to_string() } else { l.name.clone() } }</a>
                        { "：" }{ l.text.clone() }
                    </li>
                }) }
            </ul>
        </div>
    }
}
