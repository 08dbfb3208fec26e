//! Small hand-drawn SVG charts for the dashboard: a horizontal stacked bar chart (one row per
//! key) and a column chart of a monthly trend (a few series side by side). No chart crate: a
//! chart is a few dozen SVG elements, every bar a link, every number written out, and each link
//! carrying an accessible label that says what the bar counts.

use yew::prelude::*;

/// Width of the drawing in SVG units; the SVG scales to its box, and at a phone's 360 px one
/// unit is about one CSS pixel, so text stays readable.
const WIDTH: f64 = 340.0;

/// One part of a bar: a count drawn in a colour, linked to the list it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The count.
    pub value: u64,
    /// CSS class giving the colour (`seg-resolved`, `seg-overdue`, `seg-open` …).
    pub class: &'static str,
    /// The list behind the count.
    pub href: String,
    /// What it counts, in words, for screen readers and the tooltip.
    pub title: String,
}

/// One row of a [`bar_chart`]: a label, a total and the segments that make it up (their sum
/// may be less than the total; the rest is drawn as the plain bar).
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    /// The key's name.
    pub label: String,
    /// The whole bar.
    pub total: u64,
    /// The list behind the total.
    pub href: String,
    /// What the total counts, in words.
    pub title: String,
    /// Parts of the bar, drawn from the left.
    pub segments: Vec<Segment>,
}

/// One column group of a [`trend_chart`]: a period label and one bar per series.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The period's short label (e.g. `11月`).
    pub label: String,
    /// One bar per series, in the legend's order.
    pub bars: Vec<Segment>,
}

/// A legend entry: a colour class and its meaning.
pub type Legend<'a> = &'a [(&'static str, &'a str)];

fn legend(items: Legend<'_>) -> Html {
    html! {
        <ul class="chart-legend">
            { for items.iter().map(|(class, text)| html! {
                <li><span class={classes!("swatch", *class)} aria-hidden="true"></span>{ *text }</li>
            }) }
        </ul>
    }
}

/// Shortens a label to about `max` characters, counting a CJK character as two.
fn fit(label: &str, max: usize) -> String {
    let mut width = 0;
    let mut out = String::new();
    for c in label.chars() {
        let w = if c.is_ascii() { 1 } else { 2 };
        if width + w > max {
            out.push('…');
            return out;
        }
        width += w;
        out.push(c);
    }
    out
}

fn fmt(x: f64) -> String {
    format!("{x:.1}")
}

/// A horizontal bar chart: one row per key, the bar's length its total, coloured segments for
/// its parts, the total written at the end. Rows without a total are drawn as an empty track.
pub fn bar_chart(title: &str, rows: &[BarRow], legend_items: Legend<'_>, empty: &str) -> Html {
    if rows.is_empty() {
        return html! { <p class="empty">{ empty.to_string() }</p> };
    }
    const ROW: f64 = 30.0;
    const LABEL_W: f64 = 104.0;
    const NUMBER_W: f64 = 40.0;
    let track = WIDTH - LABEL_W - NUMBER_W;
    let max = rows.iter().map(|r| r.total).max().unwrap_or(0).max(1) as f64;
    let height = ROW * rows.len() as f64;
    let scale = |v: u64| (v as f64 / max) * track;
    html! {
        <figure class="chart bar-chart">
            <svg viewBox={format!("0 0 {WIDTH} {height}")} width="100%" role="group"
                aria-label={title.to_string()} preserveAspectRatio="xMinYMin meet">
                <title>{ title.to_string() }</title>
                { for rows.iter().enumerate().map(|(i, r)| {
                    let y = i as f64 * ROW;
                    let bar_y = y + 7.0;
                    let mut x = LABEL_W;
                    let segments = r.segments.iter().filter(|s| s.value > 0).map(|s| {
                        let w = scale(s.value);
                        let seg = html! {
                            <a href={s.href.clone()} aria-label={s.title.clone()} class="chart-link">
                                <title>{ s.title.clone() }</title>
                                <rect class={classes!("seg", s.class)} x={fmt(x)} y={fmt(bar_y)}
                                    width={fmt(w.max(2.0))} height="16" rx="2" />
                            </a>
                        };
                        x += w;
                        seg
                    }).collect::<Html>();
                    html! {
                        <g class="bar-row">
                            <a href={r.href.clone()} aria-label={r.title.clone()} class="chart-link">
                                <title>{ r.title.clone() }</title>
                                <rect class="bar-hit" x="0" y={fmt(y)} width={fmt(WIDTH)} height={fmt(ROW)} />
                                <text class="bar-label" x="0" y={fmt(y + 20.0)}>{ fit(&r.label, 14) }</text>
                                <rect class="bar-track" x={fmt(LABEL_W)} y={fmt(bar_y)} width={fmt(track)} height="16" rx="2" />
                                <rect class="seg seg-total" x={fmt(LABEL_W)} y={fmt(bar_y)}
                                    width={fmt(if r.total > 0 { scale(r.total).max(2.0) } else { 0.0 })} height="16" rx="2" />
                                <text class="bar-number" x={fmt(WIDTH - 2.0)} y={fmt(y + 20.0)} text-anchor="end">{ r.total }</text>
                            </a>
                            { segments }
                        </g>
                    }
                }) }
            </svg>
            { legend(legend_items) }
        </figure>
    }
}

/// A column chart of a trend: for each period a group of bars side by side (one per series),
/// each with its number above it and a link to its list.
pub fn trend_chart(title: &str, columns: &[Column], legend_items: Legend<'_>, empty: &str) -> Html {
    if columns.is_empty() {
        return html! { <p class="empty">{ empty.to_string() }</p> };
    }
    const HEIGHT: f64 = 180.0;
    const TOP: f64 = 18.0;
    const AXIS: f64 = 22.0;
    let plot = HEIGHT - TOP - AXIS;
    let series = columns
        .iter()
        .map(|c| c.bars.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let max = columns
        .iter()
        .flat_map(|c| c.bars.iter().map(|b| b.value))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let group_w = WIDTH / columns.len() as f64;
    let bar_w = ((group_w - 8.0) / series as f64).clamp(4.0, 36.0);
    let show_numbers = bar_w >= 9.0;
    html! {
        <figure class="chart trend-chart">
            <svg viewBox={format!("0 0 {WIDTH} {HEIGHT}")} width="100%" role="group"
                aria-label={title.to_string()} preserveAspectRatio="xMinYMin meet">
                <title>{ title.to_string() }</title>
                <line class="axis" x1="0" x2={fmt(WIDTH)} y1={fmt(TOP + plot)} y2={fmt(TOP + plot)} />
                { for columns.iter().enumerate().map(|(i, c)| {
                    let left = i as f64 * group_w + (group_w - bar_w * c.bars.len() as f64) / 2.0;
                    html! {
                        <g class="trend-group">
                            { for c.bars.iter().enumerate().map(|(j, b)| {
                                let h = (b.value as f64 / max) * plot;
                                let x = left + j as f64 * bar_w;
                                let y = TOP + plot - h;
                                html! {
                                    <a href={b.href.clone()} aria-label={b.title.clone()} class="chart-link">
                                        <title>{ b.title.clone() }</title>
                                        <rect class="bar-hit" x={fmt(x)} y={fmt(TOP)} width={fmt(bar_w)} height={fmt(plot)} />
                                        <rect class={classes!("seg", b.class)} x={fmt(x + 1.0)} y={fmt(y)}
                                            width={fmt(bar_w - 2.0)} height={fmt(h.max(if b.value > 0 { 2.0 } else { 0.0 }))} rx="2" />
                                        if show_numbers {
                                            <text class="trend-number" x={fmt(x + bar_w / 2.0)} y={fmt(y - 4.0)} text-anchor="middle">{ b.value }</text>
                                        }
                                    </a>
                                }
                            }) }
                            <text class="trend-label" x={fmt(i as f64 * group_w + group_w / 2.0)} y={fmt(HEIGHT - 6.0)}
                                text-anchor="middle">{ c.label.clone() }</text>
                        </g>
                    }
                }) }
            </svg>
            { legend(legend_items) }
        </figure>
    }
}
