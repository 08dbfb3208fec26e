//! An import (users, org units, enterprises, assignments) from a CSV or .xlsx file: a file
//! picker, the import, and
//! its outcome — every bad line by number (nothing imported), or what was stored and the
//! passwords generated for users, shown this once. And the imports section holding the
//! directory's three.

use yew::prelude::*;

use super::{outcome, run};
use crate::components::widgets::Ctx;
use crate::infra::admin::{self, AdminError, ImportData, ImportKind, Imported};
use crate::infra::files::{read_chosen_bytes, read_chosen_file};
use crate::infra::i18n_admin::{A, error_text, line_label};

/// Properties of an import box.
#[derive(Properties, PartialEq)]
pub struct ImportBoxProps {
    /// The app context.
    pub ctx: Ctx,
    /// What the file holds.
    pub kind: ImportKind,
    /// Called after a successful import (to read the list again).
    #[prop_or_default]
    pub on_imported: Callback<()>,
}

/// The outcome of the last import.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Stored(Imported),
    Lines(Vec<(u64, String)>),
    Failed(String),
}

/// One import: file picker, button, outcome.
#[component]
pub fn ImportBox(props: &ImportBoxProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let kind = props.kind;
    let file_text = use_state(|| None::<ImportData>);
    let result = use_state(|| None::<Outcome>);
    let busy = use_state(|| false);
    let id = format!("import-{}", kind.code());

    let on_file = {
        let file_text = file_text.clone();
        let result = result.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e.target() else { return };
            let file_text = file_text.clone();
            let result = result.clone();
            yew::platform::spawn_local(async move {
                let input: wasm_bindgen::JsValue = input.into();
                // An .xlsx workbook goes as it is; a CSV file as text (UTF-8 or GB18030).
                let chosen = match read_chosen_bytes(input.clone()).await {
                    Ok(bytes) if ImportData::is_xlsx(&bytes) => Ok(ImportData::Xlsx(bytes)),
                    Ok(_) => read_chosen_file(input).await.map(ImportData::Csv),
                    Err(why) => Err(why),
                };
                match chosen {
                    Ok(file) => {
                        file_text.set(Some(file));
                        result.set(None);
                    }
                    Err(why) => result.set(Some(Outcome::Failed(why))),
                }
            });
        })
    };
    let on_import = {
        let ctx = ctx.clone();
        let file_text = file_text.clone();
        let result = result.clone();
        let busy = busy.clone();
        let on_imported = props.on_imported.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(text) = (*file_text).clone() else {
                return;
            };
            busy.set(true);
            let result = result.clone();
            let busy = busy.clone();
            let on_imported = on_imported.clone();
            run(
                &ctx,
                move |s| async move { admin::import(&s, kind, &text).await },
                move |r| {
                    busy.set(false);
                    result.set(Some(match r {
                        Ok(done) => {
                            on_imported.emit(());
                            Outcome::Stored(done)
                        }
                        Err(AdminError::Lines(lines)) => Outcome::Lines(lines),
                        Err(e) => Outcome::Failed(error_text(lang, &e)),
                    }));
                },
            );
        })
    };

    let label = match kind {
        ImportKind::Users => A::ImportUsers,
        ImportKind::OrgUnits => A::ImportOrgUnits,
        ImportKind::Enterprises => A::ImportEnterprises,
        ImportKind::Assignments => A::ImportAssignments,
    };
    let shown = match &*result {
        None => html! {},
        Some(Outcome::Failed(m)) => outcome(&Some(Err(m.clone()))),
        Some(Outcome::Lines(lines)) => html! {
            <div class="import-errors" role="alert">
                <p class="field-error">{ lang.a(A::NothingImported) }</p>
                <ul>
                    { for lines.iter().map(|(line, message)| html! {
                        <li class="import-line"><strong>{ line_label(lang, *line) }</strong>{ " " }{ message }</li>
                    }) }
                </ul>
            </div>
        },
        Some(Outcome::Stored(done)) => html! {
            <div class="import-done" role="status">
                <p class="ok">{ format!("{} {}", lang.a(A::ImportedRows), done.imported) }
                    if done.present > 0 { { format!(" · {} {}", lang.a(A::PresentRows), done.present) } }
                </p>
                if !done.passwords.is_empty() {
                    <h3>{ lang.a(A::GeneratedPasswords) }</h3>
                    <p class="muted">{ lang.a(A::GeneratedHint) }</p>
                    <table class="admin-table generated">
                        <tr><th>{ lang.a(A::Login) }</th><th>{ lang.a(A::Password) }</th></tr>
                        { for done.passwords.iter().map(|(login, password)| html! {
                            <tr><td>{ login }</td><td><code>{ password }</code></td></tr>
                        }) }
                    </table>
                }
            </div>
        },
    };
    html! {
        <section class="import-box">
            <label for={id.clone()}>{ lang.a(label) }</label>
            <div class="row">
                <input id={id.clone()} type="file" accept=".csv,.txt,.xlsx,text/csv,text/plain,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" onchange={on_file} />
                <button type="button" class="primary" id={format!("{id}-go")}
                    disabled={file_text.is_none() || *busy} onclick={on_import}>{ lang.a(A::Import) }</button>
            </div>
            { shown }
        </section>
    }
}

/// Properties of the imports section.
#[derive(Properties, PartialEq)]
pub struct ImportsSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The directory's imports: org units, enterprises, assignments.
#[component]
pub fn ImportsSection(props: &ImportsSectionProps) -> Html {
    let ctx = props.ctx.clone();
    html! {
        <div class="admin-section">
            <ImportBox ctx={ctx.clone()} kind={ImportKind::OrgUnits} />
            <ImportBox ctx={ctx.clone()} kind={ImportKind::Enterprises} />
            <ImportBox ctx={ctx.clone()} kind={ImportKind::Assignments} />
        </div>
    }
}
