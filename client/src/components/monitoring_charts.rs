//! Monitoring's trend charts, for leaders (the full bundle only): daily power use with the
//! four-week median the anomaly rule compares against and the anomaly alert, weekly prices and
//! monthly operation figures, drawn as small hand-written SVG line charts. Officers' screens show
//! the latest figures instead (`monitoring::latest_figures`).

use shared::model::{IsoWeek, Monitoring, Month, OperationFigures};
use shared::monitoring::{axis, power_anomalies, power_baseline};
use yew::prelude::*;

use super::monitoring::{MAX_PRODUCTS, short};
use crate::infra::i18n::Lang;
use crate::sync::Core;

/// Days of power use the chart shows.
const POWER_DAYS: i64 = 90;
/// Weeks of prices the chart shows.
const PRICE_WEEKS: usize = 26;
/// Months of operation figures the chart shows.
const OPERATION_MONTHS: usize = 24;

// ---------------------------------------------------------------------------------------------
// A small SVG line chart

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    name: String,
    /// CSS class giving the colour (`series-0` …, `series-baseline`).
    class: &'static str,
    /// Points in chart units; `None` breaks the line.
    points: Vec<(f64, Option<f64>)>,
    dashed: bool,
}

/// Points drawn as marks over the lines (days of an anomaly).
#[derive(Debug, Clone, PartialEq)]
struct Marks {
    name: String,
    points: Vec<(f64, f64)>,
}

const W: f64 = 340.0;
const H: f64 = 170.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// The smallest 1-2-5 step number at least `v`.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Draws `lines` over x in `[x0, x1]`; `x_label` names an x value; `gap` is the largest x step
/// still joined by a line.
fn line_chart(
    lang: Lang,
    label: &str,
    lines: &[Line],
    marks: Option<&Marks>,
    (x0, x1): (f64, f64),
    x_label: &dyn Fn(f64) -> String,
    gap: f64,
) -> Html {
    let max = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|(_, y)| *y))
        .fold(0.0f64, f64::max);
    let y_max = nice_max(max);
    let span = (x1 - x0).max(1.0);
    let px = |x: f64| LEFT + (x - x0) / span * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - y / y_max) * (H - TOP - BOTTOM);
    let grid: Vec<f64> = (0..=4).map(|i| y_max * f64::from(i) / 4.0).collect();
    // First, middle and last position, each a whole period and named once.
    let mut ticks: Vec<f64> = vec![x0, ((x0 + x1) / 2.0).round(), x1];
    ticks.dedup_by(|a, b| x_label(*a) == x_label(*b));
    let path_of = |points: &[(f64, Option<f64>)]| -> String {
        let mut d = String::new();
        let mut last: Option<f64> = None;
        for (x, y) in points {
            match y {
                Some(y) => {
                    let joined = last.is_some_and(|lx| x - lx <= gap);
                    d.push_str(&format!(
                        "{}{:.1} {:.1} ",
                        if joined { "L" } else { "M" },
                        px(*x),
                        py(*y)
                    ));
                    last = Some(*x);
                }
                None => last = None,
            }
        }
        d
    };
    // A lone point (no neighbour to join) is drawn as a dot so it is not lost.
    let lone = |points: &[(f64, Option<f64>)]| -> Vec<(f64, f64)> {
        let joined = |i: usize, j: usize| match (points.get(i), points.get(j)) {
            (Some((a, Some(_))), Some((b, Some(_)))) => (b - a).abs() <= gap,
            _ => false,
        };
        points
            .iter()
            .enumerate()
            .filter_map(|(i, (x, y))| {
                let y = (*y)?;
                let left = i > 0 && joined(i - 1, i);
                let right = joined(i, i + 1);
                (!left && !right).then_some((*x, y))
            })
            .collect()
    };
    html! {
        <figure class="line-chart">
            <svg viewBox={format!("0 0 {W} {H}")} role="img" aria-label={label.to_string()}>
                { for grid.iter().map(|g| html! {
                    <>
                        <line class="grid" x1={LEFT.to_string()} x2={(W - RIGHT).to_string()}
                            y1={format!("{:.1}", py(*g))} y2={format!("{:.1}", py(*g))} />
                        <text class="axis" x={(LEFT - 4.0).to_string()} y={format!("{:.1}", py(*g) + 3.5)}
                            text-anchor="end">{ short(lang, *g) }</text>
                    </>
                }) }
                { for ticks.iter().enumerate().map(|(i, t)| {
                    let anchor = match i { 0 => "start", _ if i == ticks.len() - 1 => "end", _ => "middle" };
                    html! {
                        <text class="axis" x={format!("{:.1}", px(*t))} y={(H - 6.0).to_string()}
                            text-anchor={anchor}>{ x_label(*t) }</text>
                    }
                }) }
                { for lines.iter().map(|l| html! {
                    <>
                        <path class={classes!("series", l.class, l.dashed.then_some("dashed"))} d={path_of(&l.points)} />
                        { for lone(&l.points).into_iter().map(|(x, y)| html! {
                            <circle class={classes!("series-dot", l.class)} cx={format!("{:.1}", px(x))}
                                cy={format!("{:.1}", py(y))} r="2.5" />
                        }) }
                    </>
                }) }
                if let Some(m) = marks {
                    { for m.points.iter().map(|(x, y)| html! {
                        <circle class="mark" cx={format!("{:.1}", px(*x))} cy={format!("{:.1}", py(*y))} r="3.5">
                            <title>{ format!("{} {}", x_label(*x), short(lang, *y)) }</title>
                        </circle>
                    }) }
                }
            </svg>
            <figcaption class="legend">
                { for lines.iter().map(|l| html! {
                    <span class="legend-item">
                        <span class={classes!("swatch", l.class, l.dashed.then_some("dashed"))}></span>{ l.name.clone() }
                    </span>
                }) }
                if let Some(m) = marks.filter(|m| !m.points.is_empty()) {
                    <span class="legend-item"><span class="swatch mark"></span>{ m.name.clone() }</span>
                }
            </figcaption>
        </figure>
    }
}

fn day_of(n: f64) -> String {
    axis::day_label(n.round() as i64)
}

fn week_of(n: f64) -> String {
    axis::week_label(n.round() as i64)
}

fn month_of(n: f64) -> String {
    axis::month_label(n.round() as i64)
}

pub(super) fn power_chart(lang: Lang, m: &Monitoring, core: &Core) -> Html {
    let Some(last) = m.power.keys().next_back().copied() else {
        return html! { <p class="empty">{ lang.pick("还没有用电量数据。", "No power figures yet.") }</p> };
    };
    let last_day = axis::day(last);
    let first_day = (last_day - (POWER_DAYS - 1))
        .max(m.power.keys().next().map_or(last_day, |d| axis::day(*d)));
    let rules = &core.config().monitoring;
    let shown = |d: i64| d >= first_day;
    let use_line = Line {
        name: lang.pick("日用电量（kWh）", "kWh per day").into(),
        class: "series-0",
        points: m
            .power
            .iter()
            .map(|(d, v)| (axis::day(*d) as f64, Some(*v)))
            .filter(|(x, _)| shown(*x as i64))
            .collect(),
        dashed: false,
    };
    let baseline = Line {
        name: lang.pick("前四周中位数", "4-week median").to_string(),
        class: "series-baseline",
        points: power_baseline(m, rules)
            .into_iter()
            .map(|(d, b)| (axis::day(d) as f64, b))
            .filter(|(x, _)| shown(*x as i64))
            .collect(),
        dashed: true,
    };
    let anomalies = power_anomalies(m, rules);
    let marks = Marks {
        name: lang
            .pick("异常（低于中位数的阈值）", "Anomaly (below the threshold)")
            .into(),
        points: anomalies
            .iter()
            .flat_map(|a| a.days.iter())
            .filter(|d| shown(axis::day(**d)))
            .filter_map(|d| m.power.get(d).map(|v| (axis::day(*d) as f64, *v)))
            .collect(),
    };
    let latest = m.power.get(&last).copied().unwrap_or_default();
    let alert = anomalies.last().map(|a| {
        let words = if lang == Lang::ZhHans {
            format!(
                "电量异常：自 {} 起连续 {} 天低于前四周中位数（{}）的 {:.0}%，最低 {} kWh。",
                a.first_day,
                a.days.len(),
                short(lang, a.baseline_kwh),
                rules.power_drop_ratio * 100.0,
                short(lang, a.lowest_kwh)
            )
        } else {
            format!(
                "Power anomaly: from {} for {} days below {:.0}% of the 4-week median ({}), lowest {} kWh.",
                a.first_day,
                a.days.len(),
                rules.power_drop_ratio * 100.0,
                short(lang, a.baseline_kwh),
                short(lang, a.lowest_kwh)
            )
        };
        html! { <p class="notice anomaly" role="note">{ words }</p> }
    });
    let label = format!(
        "{} {} – {}",
        lang.pick("日用电量趋势", "Daily power use"),
        axis::day_label(first_day),
        axis::day_label(last_day)
    );
    html! {
        <>
            <p class="latest">
                { lang.pick("最新：", "Latest: ") }<strong>{ format!("{latest:.0} kWh") }</strong>
                <span class="muted">{ format!(" ({last})") }</span>
            </p>
            { for alert }
            { line_chart(
                lang,
                &label,
                &[use_line, baseline],
                Some(&marks),
                (first_day as f64, last_day as f64),
                &day_of,
                1.0,
            ) }
        </>
    }
}

pub(super) fn price_chart(lang: Lang, m: &Monitoring) -> Html {
    let weeks: Vec<&IsoWeek> = m.prices.keys().rev().take(PRICE_WEEKS).collect();
    let (Some(last), Some(first)) = (weeks.first().copied(), weeks.last().copied()) else {
        return html! { <p class="empty">{ lang.pick("还没有价格数据。", "No prices yet.") }</p> };
    };
    // The products of the most recent reports first.
    let mut products: Vec<String> = Vec::new();
    for w in &weeks {
        for p in m.prices[*w].keys() {
            if !products.contains(p) {
                products.push(p.clone());
            }
        }
    }
    let hidden = products.len().saturating_sub(MAX_PRODUCTS);
    products.truncate(MAX_PRODUCTS);
    const CLASSES: [&str; MAX_PRODUCTS] =
        ["series-0", "series-1", "series-2", "series-3", "series-4"];
    let lines: Vec<Line> = products
        .iter()
        .zip(CLASSES)
        .map(|(p, class)| Line {
            name: p.clone(),
            class,
            points: m
                .prices
                .range(*first..=*last)
                .filter_map(|(w, row)| row.get(p).map(|v| (axis::week(*w) as f64, Some(*v))))
                .collect(),
            dashed: false,
        })
        .collect();
    let latest = &m.prices[last];
    html! {
        <>
            <p class="latest">
                { lang.pick("最新一周 ", "Latest week ") }{ last.to_string() }{ "：" }
                { for latest.iter().take(MAX_PRODUCTS).map(|(p, v)| html! {
                    <span class="latest-item">{ format!("{p} {}", short(lang, *v)) }</span>
                }) }
            </p>
            { line_chart(
                lang,
                lang.pick("周价格趋势", "Weekly prices"),
                &lines,
                None,
                (axis::week(*first) as f64, axis::week(*last) as f64),
                &week_of,
                1.0,
            ) }
            if hidden > 0 {
                <p class="hint">{ format!("{}{hidden}{}", lang.pick("另有 ", "And "), lang.pick(" 种产品未画出。", " more products not drawn.")) }</p>
            }
        </>
    }
}

pub(super) fn operation_chart(lang: Lang, m: &Monitoring) -> Html {
    let months: Vec<(&Month, &OperationFigures)> =
        m.operation.iter().rev().take(OPERATION_MONTHS).collect();
    let (Some((last, latest)), Some((first, _))) = (months.first(), months.last()) else {
        return html! { <p class="empty">{ lang.pick("还没有月度运行数据。", "No monthly figures yet.") }</p> };
    };
    let series = |name: &str, class: &'static str, f: fn(&OperationFigures) -> f64| Line {
        name: name.to_string(),
        class,
        points: m
            .operation
            .range(**first..=**last)
            .map(|(k, v)| (axis::month(*k) as f64, Some(f(v))))
            .collect(),
        dashed: false,
    };
    let lines = [
        series(
            lang.pick("产值（万元）", "Output (10k yuan)"),
            "series-0",
            |f| f.output_value,
        ),
        series(
            lang.pick("营业收入（万元）", "Revenue (10k yuan)"),
            "series-1",
            |f| f.revenue,
        ),
    ];
    let employees = series(lang.pick("用工人数", "Employees"), "series-2", |f| {
        f.employees as f64
    });
    html! {
        <>
            <p class="latest">
                { lang.pick("最新 ", "Latest ") }{ last.to_string() }{ "：" }
                <span class="latest-item">{ lang.pick("产值 ", "output ") }{ short(lang, latest.output_value) }</span>
                <span class="latest-item">{ lang.pick("营收 ", "revenue ") }{ short(lang, latest.revenue) }</span>
                <span class="latest-item">{ lang.pick("用工 ", "employees ") }{ latest.employees }</span>
            </p>
            { line_chart(
                lang,
                lang.pick("月度产值与营业收入", "Monthly output and revenue"),
                &lines,
                None,
                (axis::month(**first) as f64, axis::month(**last) as f64),
                &month_of,
                1.0,
            ) }
            { line_chart(
                lang,
                lang.pick("月末用工人数", "Employees at month end"),
                &[employees],
                None,
                (axis::month(**first) as f64, axis::month(**last) as f64),
                &month_of,
                1.0,
            ) }
        </>
    }
}
