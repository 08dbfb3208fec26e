//! Economic monitoring of a key enterprise (经济运行监测): its figures from the enterprise's
//! monitoring document on the device — the latest of each kind and a sparkline of recent power
//! use on officers' screens, the trend charts (`monitoring_charts`, full bundle only) for
//! leaders — a form for the day's figures and a CSV import (`shared::monitoring::csv_import`),
//! each saved as one change that works offline. The server creates the document; until the
//! device has received it, the page says so and offers no entry.
use std::rc::Rc;

use shared::doc::{DocError, DocKind, MonitoringDoc, MonitoringEdit, monitoring_id};
use shared::model::{EnterpriseId, IsoWeek, Monitoring, OperationFigures, Role};
#[cfg(not(feature = "leader"))]
use shared::monitoring::axis;
use shared::monitoring::csv_import::{
    CsvError, FigureKind, Figures, LineError, parse_amount, parse_count, parse_csv, parse_day,
    parse_month, parse_product, parse_week,
};
use shared::sync::protocol::DocId;
use wasm_bindgen::JsValue;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::widgets::{Ctx, back, bind};
use crate::infra::files::read_chosen_file;
use crate::infra::i18n::{self, Lang};
use crate::infra::platform;
use crate::infra::route::Route;
use crate::sync::{Core, SaveError};

/// Properties of [`MonitoringPage`].
#[derive(PartialEq, Properties)]
pub struct MonitoringPageProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The enterprise.
    pub enterprise: EnterpriseId,
}

/// Products drawn in the price chart and listed among the latest figures (the most recently
/// reported).
pub(super) const MAX_PRODUCTS: usize = 5;
/// Days of power use the officers' sparkline shows.
#[cfg(not(feature = "leader"))]
const SPARK_DAYS: i64 = 30;

// ---------------------------------------------------------------------------------------------
// Words

fn csv_error(lang: Lang, e: &CsvError) -> String {
    let zh = lang == Lang::ZhHans;
    match e {
        CsvError::Empty => lang.pick("内容为空。", "The file is empty.").into(),
        CsvError::NoRows => lang
            .pick("只有表头，没有数据行。", "A header and no rows.")
            .into(),
        CsvError::UnknownHeader(h) if zh => format!(
            "无法识别表头“{h}”：应为 date,power_kwh 或 week,product,price 或 month,output_value,revenue,employees。"
        ),
        CsvError::Columns { expected, found } if zh => {
            format!("有 {found} 列，表头为 {expected} 列。")
        }
        CsvError::UnclosedQuote => lang
            .pick("引号没有闭合。", "A quoted cell is not closed.")
            .into(),
        CsvError::BadDate(v) if zh => format!("“{v}”不是日期（YYYY-MM-DD）。"),
        CsvError::BadWeek(v) if zh => format!("“{v}”不是周次（如 2026-W45）。"),
        CsvError::BadMonth(v) if zh => format!("“{v}”不是月份（YYYY-MM）。"),
        CsvError::BadNumber { column, value } if zh => {
            format!("{}：“{value}”不是非负数。", column_name(lang, column))
        }
        CsvError::BadCount { column, value } if zh => {
            format!("{}：“{value}”不是非负整数。", column_name(lang, column))
        }
        CsvError::MissingProduct => lang.pick("产品名称为空。", "The product is empty.").into(),
        CsvError::ProductTooLong => lang
            .pick("产品名称过长。", "The product name is too long.")
            .into(),
        CsvError::Duplicate { period, first_line } if zh => {
            format!("{period} 已在第 {first_line} 行出现。")
        }
        CsvError::TooManyRows => lang
            .pick(
                "行数过多，请分成几个文件导入。",
                "Too many rows: split the file.",
            )
            .into(),
        other => other.to_string(),
    }
}

fn line_error(lang: Lang, e: &LineError) -> String {
    format!(
        "{}{}{}{}",
        lang.pick("第 ", "Line "),
        e.line,
        lang.pick(" 行：", ": "),
        csv_error(lang, &e.error)
    )
}

fn column_name(lang: Lang, column: &str) -> String {
    match column {
        "power_kwh" => lang.pick("用电量", "power (kWh)"),
        "price" => lang.pick("价格", "price"),
        "output_value" => lang.pick("产值", "output value"),
        "revenue" => lang.pick("营业收入", "revenue"),
        "employees" => lang.pick("用工人数", "employees"),
        other => other,
    }
    .to_string()
}

fn kind_name(lang: Lang, kind: FigureKind) -> &'static str {
    match kind {
        FigureKind::Power => lang.pick("日用电量", "daily power use"),
        FigureKind::Prices => lang.pick("周价格", "weekly prices"),
        FigureKind::Operation => lang.pick("月度运行数据", "monthly operation figures"),
    }
}

/// A number for an axis or a label: 12800 → "1.28万" (zh) or "12.8k" (en).
pub(super) fn short(lang: Lang, v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    match lang {
        Lang::ZhHans if v >= 10_000.0 => format!("{}万", trim(format!("{:.2}", v / 10_000.0))),
        Lang::En if v >= 1_000_000.0 => format!("{}M", trim(format!("{:.2}", v / 1_000_000.0))),
        Lang::En if v >= 1_000.0 => format!("{}k", trim(format!("{:.1}", v / 1_000.0))),
        _ => trim(format!("{v:.2}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The figures

/// Leaders' view of the figures: the trend charts.
#[cfg(feature = "leader")]
fn figures_view(lang: Lang, m: &Monitoring, core: &Core) -> Html {
    use super::monitoring_charts::{operation_chart, power_chart, price_chart};
    html! {
        <>
            <section class="monitor-section">
                <h2>{ lang.pick("电量日监测", "Daily power use") }</h2>
                { power_chart(lang, m, core) }
            </section>
            <section class="monitor-section">
                <h2>{ lang.pick("价格周报告", "Weekly prices") }</h2>
                { price_chart(lang, m) }
            </section>
            <section class="monitor-section">
                <h2>{ lang.pick("运行月分析", "Monthly operation") }</h2>
                { operation_chart(lang, m) }
            </section>
        </>
    }
}

/// Officers' view of the figures: the latest of each kind in one table and a sparkline of the
/// recent power use (the trend charts are in the full bundle).
#[cfg(not(feature = "leader"))]
fn figures_view(lang: Lang, m: &Monitoring, _core: &Core) -> Html {
    let power = m.power.iter().next_back();
    let week = m.prices.iter().next_back();
    let month = m.operation.iter().next_back();
    let row = |what: String, period: String, value: String| {
        html! { <tr><th scope="row">{ what }</th><td>{ period }</td><td>{ value }</td></tr> }
    };
    html! {
        <section class="monitor-section">
            <h2>{ lang.pick("最新数据", "Latest figures") }</h2>
            if power.is_none() && week.is_none() && month.is_none() {
                <p class="empty">{ lang.pick("还没有监测数据。", "No figures yet.") }</p>
            } else {
                <div class="table-scroll">
                    <table class="freshness latest-figures">
                        <thead><tr>
                            <th>{ lang.pick("数据", "Figure") }</th>
                            <th>{ lang.pick("日期", "Period") }</th>
                            <th>{ lang.pick("数值", "Value") }</th>
                        </tr></thead>
                        <tbody>
                            if let Some((day, kwh)) = power {
                                { row(lang.pick("日用电量", "Power use").into(), day.to_string(), format!("{} kWh", short(lang, *kwh))) }
                            }
                            if let Some((w, products)) = week {
                                { for products.iter().take(MAX_PRODUCTS).map(|(p, v)| row(
                                    format!("{}{p}", lang.pick("价格 · ", "Price · ")), w.to_string(), short(lang, *v))) }
                            }
                            if let Some((mo, f)) = month {
                                { row(lang.pick("产值（万元）", "Output (10k yuan)").into(), mo.to_string(), short(lang, f.output_value)) }
                                { row(lang.pick("营业收入（万元）", "Revenue (10k yuan)").into(), mo.to_string(), short(lang, f.revenue)) }
                                { row(lang.pick("用工人数", "Employees").into(), mo.to_string(), f.employees.to_string()) }
                            }
                        </tbody>
                    </table>
                </div>
                { power_sparkline(lang, m) }
            }
        </section>
    }
}

/// The power use of the last [`SPARK_DAYS`] days as one line (broken where a day is missing;
/// a lone day is a short stroke), in whole SVG units.
#[cfg(not(feature = "leader"))]
fn power_sparkline(lang: Lang, m: &Monitoring) -> Html {
    const W: i64 = 300;
    const H: i64 = 60;
    let Some(last) = m.power.keys().next_back().map(|d| axis::day(*d)) else {
        return html! {};
    };
    let first = last - (SPARK_DAYS - 1);
    let days: Vec<(i64, f64)> = m
        .power
        .iter()
        .map(|(d, v)| (axis::day(*d), *v))
        .filter(|(d, _)| *d >= first)
        .collect();
    let max = days.iter().map(|(_, v)| *v).fold(0.0f64, f64::max);
    let x = |d: i64| (d - first) * W / (SPARK_DAYS - 1);
    let y = |v: f64| {
        let up = if max > 0.0 {
            (v / max * (H - 4) as f64).round() as i64
        } else {
            0
        };
        H - 2 - up
    };
    let mut path = String::new();
    let mut previous: Option<i64> = None;
    for (i, (day, v)) in days.iter().enumerate() {
        let joined = previous.is_some_and(|p| day - p <= 1);
        let next_joined = days.get(i + 1).is_some_and(|(n, _)| n - day <= 1);
        let (x, y) = (x(*day), y(*v));
        path.push_str(&if joined {
            format!("L{x} {y} ")
        } else if next_joined {
            format!("M{x} {y} ")
        } else {
            format!("M{x} {y} h1 ")
        });
        previous = Some(*day);
    }
    html! {
        <figure class="line-chart spark">
            <svg viewBox={format!("0 0 {W} {H}")} role="img"
                aria-label={format!("{}{SPARK_DAYS}{}", lang.pick("近 ", "Power use of the last "), lang.pick(" 天日用电量", " days"))}>
                <path class="series series-0" d={path} />
            </svg>
        </figure>
    }
}

// ---------------------------------------------------------------------------------------------
// Saving

/// Whether the role writes monitoring figures (the server's rules: officers, leaders and
/// supervisors edit the monitoring documents in their scope; nobody's device creates one —
/// the server creates each key enterprise's, and devices receive it by sync).
fn may_write(role: Role) -> bool {
    match role {
        Role::Officer | Role::Leader | Role::Supervisor => true,
        Role::DepartmentHandler | Role::WindowClerk | Role::Admin => false,
    }
}

/// Writes figures into the enterprise's monitoring document, which the device received from
/// the server (it never creates one: two devices creating it would make two histories whose
/// figures hide each other's), as one save, and reports through `message`.
fn save_figures(
    core: &Rc<Core>,
    lang: Lang,
    enterprise: EnterpriseId,
    message: &UseStateHandle<Option<(bool, String)>>,
    done: Callback<()>,
    f: impl FnOnce(&mut MonitoringEdit<'_, '_>) -> Result<(), DocError>,
) {
    let doc_id = DocId::new(DocKind::Monitoring, &monitoring_id(enterprise));
    let Some(actor) = core.actor() else {
        message.set(Some((
            false,
            lang.pick("请先登录。", "Log in first.").into(),
        )));
        return;
    };
    let Some(record) = core.doc(&doc_id) else {
        message.set(Some((false, not_yet(lang).into())));
        return;
    };
    let now = platform::now();
    let edited =
        MonitoringDoc::from_record(record).and_then(|mut d| d.edit(&actor, now, f).map(|()| d));
    match edited {
        Ok(doc) => {
            let message = message.clone();
            core.save(
                vec![(doc_id, doc.into_record())],
                Callback::from(move |r: Result<(), SaveError>| match r {
                    Ok(()) => {
                        message.set(Some((
                            true,
                            lang.pick(
                                "已保存到本设备，联网后自动同步。",
                                "Saved on this device; it syncs once online.",
                            )
                            .into(),
                        )));
                        done.emit(());
                    }
                    Err(e) => message.set(Some((false, i18n::save_error(lang, &e)))),
                }),
            );
        }
        Err(e) => message.set(Some((false, i18n::doc_error(lang, &e)))),
    }
}

/// What the page says while the device has no monitoring document of the enterprise.
fn not_yet(lang: Lang) -> &'static str {
    lang.pick(
        "监测档案将在下次同步后出现。",
        "The monitoring record appears after the next sync.",
    )
}

fn message_line(message: &Option<(bool, String)>) -> Html {
    match message {
        Some((true, m)) => html! { <p class="hint saved" role="status">{ m.clone() }</p> },
        Some((false, m)) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
        None => html! {},
    }
}

/// The entry form's inputs, one per text field of [`Entry`] (its index): id, label, and kind
/// (`date`, `month`, `decimal`, `numeric`, `product` with the known products offered, `text`).
/// The form is drawn from this table and [`GROUPS`] by one loop, not one expanded block per
/// input (smaller download).
const INPUTS: [(&str, &str, &str, &str); 9] = [
    ("m-day", "日期", "Date", "date"),
    ("m-kwh", "用电量（kWh）", "kWh", "decimal"),
    (
        "m-week",
        "周次（如 2026-W45）",
        "Week (e.g. 2026-W45)",
        "text",
    ),
    ("m-product", "产品", "Product", "product"),
    ("m-price", "价格", "Price", "decimal"),
    ("m-month", "月份", "Month", "month"),
    ("m-output", "产值（万元）", "Output (10k yuan)", "decimal"),
    (
        "m-revenue",
        "营业收入（万元）",
        "Revenue (10k yuan)",
        "decimal",
    ),
    (
        "m-employees",
        "月末用工人数",
        "Employees at month end",
        "numeric",
    ),
];
const DAY: usize = 0;
const KWH: usize = 1;
const WEEK: usize = 2;
const PRODUCT: usize = 3;
const PRICE: usize = 4;
const MONTH: usize = 5;
const OUTPUT: usize = 6;
const REVENUE: usize = 7;
const EMPLOYEES: usize = 8;
/// The inputs a save clears (the periods stay for the next figures).
const CLEARED: [usize; 6] = [KWH, PRODUCT, PRICE, OUTPUT, REVENUE, EMPLOYEES];

/// The entry form's groups: legend and rows of inputs (a row of two side by side).
const GROUPS: [(&str, &str, &[&[usize]]); 3] = [
    ("日用电量", "Power use of a day", &[&[DAY, KWH]]),
    (
        "产品价格（周）",
        "Price of the week",
        &[&[WEEK], &[PRODUCT, PRICE]],
    ),
    (
        "月度运行",
        "Month's operation",
        &[&[MONTH], &[OUTPUT, REVENUE], &[EMPLOYEES]],
    ),
];

/// The entry form's text, by [`INPUTS`] index.
type Entry = [String; 9];

/// What the entry form writes, one [`Figures`] per group filled in: a group whose fields are
/// all empty is skipped, a group partly filled is an error (by [`INPUTS`] index).
fn parse_entry(e: &Entry) -> Result<Vec<Figures>, Vec<(usize, CsvError)>> {
    let mut errors = Vec::new();
    fn keep<T>(
        errors: &mut Vec<(usize, CsvError)>,
        field: usize,
        r: Result<T, CsvError>,
    ) -> Option<T> {
        r.map_err(|e| errors.push((field, e))).ok()
    }
    let blank = |fields: &[usize]| fields.iter().all(|&i| e[i].trim().is_empty());
    let power = if blank(&[KWH]) {
        None
    } else {
        let day = keep(&mut errors, DAY, parse_day(&e[DAY]));
        let kwh = keep(&mut errors, KWH, parse_amount("power_kwh", &e[KWH]));
        day.zip(kwh).map(|p| Figures::Power(vec![p]))
    };
    let price = if blank(&[PRODUCT, PRICE]) {
        None
    } else {
        let week = keep(&mut errors, WEEK, parse_week(&e[WEEK]));
        let product = keep(&mut errors, PRODUCT, parse_product(&e[PRODUCT]));
        let price = keep(&mut errors, PRICE, parse_amount("price", &e[PRICE]));
        match (week, product, price) {
            (Some(w), Some(p), Some(v)) => Some(Figures::Prices(vec![(w, p, v)])),
            _ => None,
        }
    };
    let operation = if blank(&[OUTPUT, REVENUE, EMPLOYEES]) {
        None
    } else {
        let month = keep(&mut errors, MONTH, parse_month(&e[MONTH]));
        let output_value = keep(
            &mut errors,
            OUTPUT,
            parse_amount("output_value", &e[OUTPUT]),
        );
        let revenue = keep(&mut errors, REVENUE, parse_amount("revenue", &e[REVENUE]));
        let employees = keep(
            &mut errors,
            EMPLOYEES,
            parse_count("employees", &e[EMPLOYEES]),
        );
        match (month, output_value, revenue, employees) {
            (Some(m), Some(output_value), Some(revenue), Some(employees)) => {
                Some(Figures::Operation(vec![(
                    m,
                    OperationFigures {
                        output_value,
                        revenue,
                        employees,
                    },
                )]))
            }
            _ => None,
        }
    };
    if errors.is_empty() {
        Ok([power, price, operation].into_iter().flatten().collect())
    } else {
        Err(errors)
    }
}

/// The entry form's fieldsets, drawn from [`GROUPS`] and [`INPUTS`]; the products reported so
/// far are offered in the price group.
fn entry_fields(
    lang: Lang,
    entry: &UseStateHandle<Entry>,
    errors: &[(usize, CsvError)],
    products: &std::collections::BTreeMap<String, f64>,
) -> Html {
    let input = |i: usize| -> Html {
        let (id, zh, en, kind) = INPUTS[i];
        let (input_type, inputmode, list) = match kind {
            "date" | "month" => (kind, None, None),
            "decimal" | "numeric" => ("text", Some(kind), None),
            "product" => ("text", None, Some("m-products")),
            _ => ("text", None, None),
        };
        let oninput = {
            let entry = entry.clone();
            Callback::from(move |e: InputEvent| {
                let mut next = (*entry).clone();
                next[i] = super::widgets::event_value(&e);
                entry.set(next);
            })
        };
        html! {
            <div class="field">
                <label for={id}>{ lang.pick(zh, en) }</label>
                <input {id} type={input_type} {inputmode} {list} value={entry[i].clone()} {oninput} />
                { for errors.iter().filter(|(f, _)| *f == i).map(|(_, e)| html! {
                    <p class="field-error" role="alert">{ csv_error(lang, e) }</p>
                }) }
            </div>
        }
    };
    html! {
        { for GROUPS.iter().enumerate().map(|(g, (zh, en, rows))| html! {
            <fieldset>
                <legend>{ lang.pick(zh, en) }</legend>
                { for rows.iter().map(|row| if row.len() > 1 {
                    html! { <div class="two-columns">{ for row.iter().map(|&i| input(i)) }</div> }
                } else {
                    input(row[0])
                }) }
                if g == 1 {
                    <datalist id="m-products">
                        { for products.keys().map(|p| html! { <option value={p.clone()} /> }) }
                    </datalist>
                }
            </fieldset>
        }) }
    }
}

fn entry_today() -> Entry {
    let today = platform::format_date(platform::now());
    let mut e = Entry::default();
    e[WEEK] = parse_day(&today)
        .map(|d| IsoWeek::of(d).to_string())
        .unwrap_or_default();
    e[MONTH] = today.get(..7).unwrap_or_default().to_string();
    e[DAY] = today;
    e
}

// ---------------------------------------------------------------------------------------------
// The page

/// Monitoring figures of one enterprise.
#[component]
pub fn MonitoringPage(props: &MonitoringPageProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let entry = use_state(entry_today);
    let entry_errors = use_state(Vec::<(usize, CsvError)>::new);
    let entry_message = use_state(|| None::<(bool, String)>);
    let csv_text = use_state(String::new);
    let import_message = use_state(|| None::<(bool, String)>);
    let file_message = use_state(|| None::<String>);

    let enterprise = props.enterprise;
    let doc_id = DocId::new(DocKind::Monitoring, &monitoring_id(enterprise));
    let record = core.doc(&doc_id);
    let exists = record.is_some();
    let read: Option<Result<Monitoring, DocError>> =
        record.map(|r| MonitoringDoc::from_record(r).and_then(|d| d.read()));
    let snapshot = core.snapshot();
    let profile = snapshot.enterprises.iter().find(|e| e.id == enterprise);
    let name = profile.map(|e| e.name.clone()).unwrap_or_else(|| {
        lang.pick("（本设备上没有该企业）", "(enterprise not on this device)")
            .into()
    });
    let role = core.session().map(|s| s.user.role);
    // Figures go only into the document the server created and this device received.
    let writable = exists && role.is_some_and(may_write);

    let empty = Monitoring {
        enterprise,
        power: Default::default(),
        prices: Default::default(),
        operation: Default::default(),
        needs_decision: Vec::new(),
    };
    let (figures, unreadable) = match read {
        Some(Ok(m)) => (m, None),
        Some(Err(e)) => (empty, Some(i18n::doc_error(lang, &e))),
        None => (empty, None),
    };

    // Entry form.
    let on_entry = {
        let (core, entry, entry_errors, entry_message) = (
            core.clone(),
            entry.clone(),
            entry_errors.clone(),
            entry_message.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_entry(&entry) {
                Err(errors) => {
                    entry_errors.set(errors);
                    entry_message.set(None);
                }
                Ok(parsed) if parsed.is_empty() => {
                    entry_errors.set(Vec::new());
                    entry_message.set(Some((
                        false,
                        lang.pick("请至少填写一组数据。", "Fill in at least one group.")
                            .into(),
                    )));
                }
                Ok(parsed) => {
                    entry_errors.set(Vec::new());
                    let entry = entry.clone();
                    let done = Callback::from(move |()| {
                        let mut next = (*entry).clone();
                        for i in CLEARED {
                            next[i].clear();
                        }
                        entry.set(next);
                    });
                    save_figures(&core, lang, enterprise, &entry_message, done, move |w| {
                        parsed.iter().try_for_each(|f| f.write(w))
                    });
                }
            }
        })
    };
    // CSV import: parsed as it is typed, imported whole or not at all.
    let parsed: Option<Result<Figures, Vec<LineError>>> =
        (!csv_text.trim().is_empty()).then(|| parse_csv(&csv_text));
    let on_import = {
        let (core, csv_text, import_message) =
            (core.clone(), csv_text.clone(), import_message.clone());
        Callback::from(move |_: MouseEvent| {
            let Ok(figures) = parse_csv(&csv_text) else {
                return;
            };
            let rows = figures.len();
            let cleared = csv_text.clone();
            let message = import_message.clone();
            let done = Callback::from(move |()| {
                cleared.set(String::new());
                message.set(Some((
                    true,
                    format!(
                        "{}{rows}{}",
                        lang.pick("已导入 ", "Imported "),
                        lang.pick(
                            " 行，已保存到本设备，联网后自动同步。",
                            " rows, saved on this device; they sync once online.",
                        )
                    ),
                )));
            });
            save_figures(&core, lang, enterprise, &import_message, done, move |w| {
                figures.write(w)
            });
        })
    };
    let on_file = {
        let (csv_text, file_message) = (csv_text.clone(), file_message.clone());
        Callback::from(move |e: Event| {
            let Some(input) = e.target().map(JsValue::from) else {
                return;
            };
            let (csv_text, file_message) = (csv_text.clone(), file_message.clone());
            spawn_local(async move {
                match read_chosen_file(input).await {
                    Ok(text) => {
                        file_message.set(None);
                        csv_text.set(text);
                    }
                    Err(e) if e.is_empty() => {}
                    Err(e) => file_message.set(Some(format!(
                        "{}{e}",
                        lang.pick("无法读取文件：", "Cannot read the file: ")
                    ))),
                }
            });
        })
    };
    let preview = match &parsed {
        None => html! {},
        Some(Ok(f)) => {
            let effect = f.effect_on(&figures);
            let span = f
                .span()
                .map(|(a, b)| if a == b { a } else { format!("{a} – {b}") })
                .unwrap_or_default();
            html! {
                <div class="import-preview" role="status">
                    <p>
                        { lang.pick("识别为", "Recognised as ") }<strong>{ kind_name(lang, f.kind()) }</strong>
                        { format!("{}{}{}", lang.pick("，共 ", ", "), f.len(), lang.pick(" 行（", " rows (")) }
                        { span }{ lang.pick("）。", ").") }
                    </p>
                    <p class="muted small">
                        { format!("{}{} · {}{} · {}{}",
                            lang.pick("新增 ", "new "), effect.new,
                            lang.pick("修改 ", "changed "), effect.changed,
                            lang.pick("相同 ", "unchanged "), effect.unchanged) }
                    </p>
                    if effect.changed > 0 {
                        <p class="warn small">{ lang.pick(
                            "将覆盖已记录的不同数值（原值保留在历史中）。",
                            "Different recorded values will be replaced (the old ones stay in the history).",
                        ) }</p>
                    }
                    <button type="button" class="primary save" onclick={on_import}>
                        { format!("{}{}{}", lang.pick("导入 ", "Import "), f.len(), lang.pick(" 行", " rows")) }
                    </button>
                </div>
            }
        }
        Some(Err(errors)) => html! {
            <div class="import-errors" role="alert">
                <p class="field-error">{ format!("{}{}{}",
                    lang.pick("文件有 ", "The file has "), errors.len(),
                    lang.pick(" 处错误，整份文件未导入：", " errors; nothing was imported:")) }</p>
                <ul>
                    { for errors.iter().take(20).map(|e| html! { <li>{ line_error(lang, e) }</li> }) }
                </ul>
                if errors.len() > 20 {
                    <p class="muted small">{ format!("{}{}", lang.pick("其余错误未列出：", "Not listed: "), errors.len() - 20) }</p>
                }
            </div>
        },
    };

    // The products reported so far, in name order (gathered in the document's own row type).
    let mut products: std::collections::BTreeMap<String, f64> = Default::default();
    for row in figures.prices.values() {
        products.extend(row.iter().map(|(p, v)| (p.clone(), *v)));
    }
    let write_note = match role {
        None => Some(lang.pick("请先登录。", "Log in first.")),
        Some(r) if !may_write(r) => Some(lang.pick(
            "你的角色不能录入监测数据。",
            "Your role does not record monitoring figures.",
        )),
        Some(_) => None,
    };

    html! {
        <main key="monitoring" class="screen monitoring" data-power-days={figures.power.len().to_string()}
            data-price-weeks={figures.prices.len().to_string()} data-months={figures.operation.len().to_string()}>
            { back(lang, &Route::Enterprise(enterprise)) }
            <h1>{ lang.pick("经济监测", "Economic monitoring") }</h1>
            <p class="enterprise-name">{ name }
                if profile.is_some_and(|e| !e.key_enterprise) {
                    <span class="muted small">{ lang.pick("（非重点企业）", " (not a key enterprise)") }</span>
                }
            </p>
            if let Some(e) = unreadable { <p class="notice refused" role="alert">{ e }</p> }
            if !exists {
                <p class="notice monitoring-pending" role="status">
                    { lang.pick("本设备上还没有该企业的监测档案。", "No monitoring record of this enterprise on this device yet. ") }
                    if profile.is_some_and(|e| !e.key_enterprise) {
                        { lang.pick("监测档案只为重点企业建立。", "Only key enterprises have one.") }
                    } else {
                        { not_yet(lang) }
                    }
                </p>
            }
            if let Some(note) = write_note { <p class="notice">{ note }</p> }
            if !figures.needs_decision.is_empty() {
                <div class="notice needs-decision">
                    <strong>{ lang.pick("以下数值有并发的不同录入，请核实后重新录入：", "These figures were entered differently at the same time; check and enter them again:") }</strong>
                    { for figures.needs_decision.iter().map(|n| html! {
                        <p>{ format!("{}: {} ({})", n.field, n.shown, n.others.join(", ")) }</p>
                    }) }
                </div>
            }

            { figures_view(lang, &figures, &core) }

            if writable {
                <section class="monitor-section">
                    <h2>{ lang.pick("录入数据", "Enter figures") }</h2>
                    <form class="form monitor-entry" onsubmit={on_entry}>
                        { entry_fields(lang, &entry, &entry_errors, &products) }
                        <p class="hint">{ lang.pick("只填需要的一组或几组；空着的组不保存。", "Fill in only the groups you need; empty groups are not saved.") }</p>
                        { message_line(&entry_message) }
                        <button type="submit" class="primary save">{ lang.pick("保存", "Save") }</button>
                    </form>
                </section>

                <section class="monitor-section">
                    <h2>{ lang.pick("导入 CSV", "Import CSV") }</h2>
                    <details class="csv-help">
                        <summary>{ lang.pick("文件格式", "File format") }</summary>
                        <p>{ lang.pick(
                            "每个文件一种数据，第一行是表头（中英文列名均可，列的顺序不限）。可直接从 Excel 复制单元格粘贴；任何一行有错，整份文件都不导入。",
                            "One kind of figure per file, with a header row (Chinese or English column names, any order). Cells copied from a spreadsheet can be pasted directly; any bad row rejects the whole file.",
                        ) }</p>
                        <pre class="csv-sample">{ "date,power_kwh\n2026-11-05,12800\n\nweek,product,price\n2026-W45,螺纹钢,3650\n\nmonth,output_value,revenue,employees\n2026-10,1520.5,1380,214" }</pre>
                        <p class="muted small">{ lang.pick(
                            "中文表头：日期,用电量 / 周次,产品,价格 / 月份,产值,营业收入,用工人数（产值、收入单位：万元）。",
                            "Chinese headers: 日期,用电量 / 周次,产品,价格 / 月份,产值,营业收入,用工人数 (output and revenue in 10,000 yuan).",
                        ) }</p>
                    </details>
                    <label for="m-file">{ lang.pick("选择文件", "Choose a file") }</label>
                    <input id="m-file" type="file" accept=".csv,.txt,text/csv,text/plain" onchange={on_file} />
                    if let Some(m) = &*file_message { <p class="field-error" role="alert">{ m.clone() }</p> }
                    <label for="m-csv">{ lang.pick("或粘贴内容", "Or paste the text") }</label>
                    <textarea id="m-csv" rows="6" class="mono" value={(*csv_text).clone()} oninput={bind(&csv_text)}
                        placeholder={"date,power_kwh\n2026-11-05,12800"} />
                    { preview }
                    { message_line(&import_message) }
                </section>
            }
        </main>
    }
}
