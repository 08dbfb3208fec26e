//! The dashboard's KPI tiles (考核指标): each number a link to the problem or visit list behind it,
//! with the satisfaction rate's split by rating channel and the count of times the server
//! clamped (KPIs count server-bounded times: `shared::server_time`).

use shared::model::{ProblemState, RatingChannel};
use yew::prelude::*;

use crate::infra::i18n::Lang;
use crate::infra::kpis::{ChannelCount, Kpis, RatedByChannel};
use crate::infra::route::Route;

/// The states the `problems` KPI counts (all but withdrawn and merged duplicates).
pub(super) fn counted_states() -> String {
    ProblemState::ALL
        .iter()
        .filter(|s| !matches!(s, ProblemState::Withdrawn | ProblemState::MergedDuplicate))
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) const RESOLVED_STATES: &str = "signed_off,look_back_passed";

/// Builds the `#/problems?…` links of one answer: the period and the unit's filter, under
/// any filter of the number's own (which wins when both name the same parameter).
pub(super) struct Links {
    from: i64,
    to: i64,
    unit: Option<(&'static str, String)>,
}

impl Links {
    /// The links of a period `[from, to)` and a unit (`kind` `town`, `department` or the
    /// zone).
    pub(super) fn new(from: i64, to: i64, kind: &str, id: &str) -> Links {
        let unit = match kind {
            "town" => Some(("town", id.to_string())),
            "department" => Some(("department", id.to_string())),
            _ => None,
        };
        Links { from, to, unit }
    }

    /// The list of problems passing `filters`, created in `[from, to)` (none: any time).
    pub(super) fn list(&self, filters: &[(&str, &str)], created: Option<(i64, i64)>) -> String {
        let mut parts: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if let Some((from, to)) = created {
            parts.push(format!("created_from={from}&created_to={to}"));
        }
        if let Some((key, id)) = &self.unit
            && !filters.iter().any(|(k, _)| k == key)
        {
            parts.push(format!("{key}={id}"));
        }
        Route::Problems(parts.join("&")).hash()
    }

    /// The visit list of the period (and the unit when it is a town: the visit KPIs count no
    /// visits for a department), under `filters`.
    fn visits(&self, filters: &[(&str, &str)]) -> String {
        let mut query = format!("from={}&to={}", self.from, self.to);
        if let Some(("town", id)) = &self.unit {
            query.push_str(&format!("&town={id}"));
        }
        for (k, v) in filters {
            query.push_str(&format!("&{k}={v}"));
        }
        Route::Visits(query).hash()
    }

    pub(super) fn period(&self) -> Option<(i64, i64)> {
        Some((self.from, self.to))
    }

    /// The problems with a look-back of `results` (`passed`, `reopened`, or both) that
    /// happened in the period, whenever they were raised: what the look-back KPIs count.
    fn look_backs(&self, results: &str) -> String {
        let (from, to) = (self.from.to_string(), self.to.to_string());
        self.list(
            &[
                ("look_back", results),
                ("event_from", &from),
                ("event_to", &to),
            ],
            None,
        )
    }
}

fn percent(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

fn hours(lang: Lang, h: f64) -> String {
    if h < 48.0 {
        format!("{h:.1}{}", lang.pick(" 小时", " h"))
    } else {
        format!("{:.1}{}", h / 24.0, lang.pick(" 天", " d"))
    }
}

/// A KPI tile: the whole tile is the link to the list behind its number, and its tooltip
/// says which list that is (a count's own problems; a rate's denominator; a time's problems).
fn tile(
    name: &'static str,
    label: &str,
    value: String,
    sub: Option<String>,
    (href, title): (String, String),
    tone: Option<&'static str>,
) -> Html {
    html! {
        <a class={classes!("kpi", tone)} data-kpi={name} {href} {title}>
            <span class="kpi-label">{ label.to_string() }</span>
            <span class="kpi-value">{ value }</span>
            if let Some(sub) = sub {
                <span class="kpi-sub">{ sub }</span>
            }
        </a>
    }
}

/// The KPI tiles of `k`, each a link built by `links`, and under them the channel split of
/// the satisfaction rate and how many times were counted on the server's clock.
pub(super) fn tiles(lang: Lang, k: &Kpis, links: &Links) -> Html {
    let counted = counted_states();
    // Each tile links to exactly the problems its number counts: a count to its own
    // problems, a rate to its denominator's (the tooltip says so), a time to the problems it
    // is measured over. Problems raised in the period, as the `problems` KPI counts them:
    let raised =
        |extra: (&str, &str)| links.list(&[("state", counted.as_str()), extra], links.period());
    let tip = |zh: &str, en: &str| lang.pick(zh, en).to_string();
    let all = links.list(&[("state", &counted)], links.period());
    let resolved = links.list(&[("state", RESOLVED_STATES)], links.period());
    let overdue = links.list(&[("overdue", "true")], links.period());
    // Look-backs count by when they happened, not when the problem was raised.
    let look_backs = links.look_backs("passed,reopened");
    let reopened = links.look_backs("reopened");
    let problems_link = (
        all.clone(),
        tip("本期提出的问题", "Problems raised in the period"),
    );
    let resolved_link = (
        resolved,
        tip(
            "本期提出、已销号的问题",
            "Problems raised in the period and signed off",
        ),
    );
    let resolution_link = (
        all,
        tip(
            "分母：本期提出的问题（其中已解决的见“已解决”）",
            "Denominator: problems raised in the period (the resolved ones: see Resolved)",
        ),
    );
    let overdue_link = (
        overdue,
        tip(
            "本期提出、现已超期未办结的问题",
            "Problems raised in the period, now overdue",
        ),
    );
    let on_time_link = (
        raised(("answered", "true")),
        tip(
            "分母：本期提出、已答复的问题（列表可按“按期答复”筛选）",
            "Denominator: problems raised in the period and answered (filter on_time=true for the on-time ones)",
        ),
    );
    let satisfaction_link = (
        raised(("rated", "true")),
        tip(
            "分母：本期提出、企业已评价的问题（满意：评价3分及以上）",
            "Denominator: problems raised in the period and rated (satisfied: rated 3 or better)",
        ),
    );
    let look_back_link = (
        look_backs,
        tip(
            "分母：本期做过回头看（通过或重新打开）的问题",
            "Denominator: problems with a look-back in the period (passed or reopened)",
        ),
    );
    let reopened_link = (
        reopened,
        tip(
            "本期回头看重新打开的问题",
            "Problems a look-back in the period reopened",
        ),
    );
    let coverage_link = (
        links.visits(&[]),
        tip("本期的走访记录", "The visits of the period"),
    );
    let visits_link = (
        links.visits(&[]),
        tip("本期的走访记录", "The visits of the period"),
    );
    // The visits a leader follows up (不弄虚作假): those without on-site evidence. The rate's
    // denominator is the visits tile's list, and the list's filter shows those with it.
    let evidence_link = (
        links.visits(&[("evidence", "false")]),
        tip(
            "本期没有现场佐证（现场照片且签到在范围内）的走访",
            "The period's visits without on-site evidence (a photo and a check-in within the radius)",
        ),
    );
    let first_link = (
        raised(("answered", "true")),
        tip(
            "用时所计的问题：本期提出、已答复的问题",
            "Measured over: problems raised in the period and answered",
        ),
    );
    let sign_off_link = (
        raised(("signed_off", "true")),
        tip(
            "用时所计的问题：本期提出、已销号过的问题（含回头看后重新打开的）",
            "Measured over: problems raised in the period and signed off (including those a look-back reopened since)",
        ),
    );
    let of = |n: u64, d: u64| Some(format!("{n} / {d}"));
    let times = |t: Option<(f64, f64)>| match t {
        Some((median, p90)) => (
            hours(lang, median),
            Some(format!("P90 {}", hours(lang, p90))),
        ),
        None => ("—".to_string(), None),
    };
    let (first_value, first_sub) = times(k.first_response_hours);
    let (sign_value, sign_sub) = times(k.sign_off_hours);
    let visits_per_officer = k
        .visits_per_officer
        .map_or_else(|| "—".into(), |v| format!("{v:.1}"));
    html! {
        <>
        <section class="kpi-grid" aria-label={lang.pick("考核指标", "KPIs")}>
            { tile("problems", lang.pick("问题数", "Problems raised"), k.problems.to_string(), None, problems_link, None) }
            { tile("resolved", lang.pick("已解决", "Resolved"), k.resolved.to_string(), None, resolved_link, None) }
            { tile("resolution_rate", lang.pick("问题解决率", "Resolution rate"), percent(k.resolution_rate), of(k.resolved, k.problems), resolution_link, None) }
            { tile("overdue", lang.pick("超期未办结", "Overdue"), k.overdue.to_string(), None, overdue_link, (k.overdue > 0).then_some("bad")) }
            { tile("on_time_rate", lang.pick("按时办结率", "On-time rate"), percent(k.on_time_rate), of(k.on_time, k.answered), on_time_link, None) }
            { tile("satisfaction_rate", lang.pick("企业满意率", "Satisfaction"), percent(k.satisfaction_rate), of(k.satisfied, k.rated), satisfaction_link, None) }
            { tile("look_back_pass_rate", lang.pick("回头看通过率", "Look-back pass rate"), percent(k.look_back_pass_rate),
                of(k.look_backs_passed, k.look_backs_passed + k.look_backs_reopened), look_back_link, None) }
            { tile("look_backs_reopened", lang.pick("回头看重新打开", "Reopened by look-back"), k.look_backs_reopened.to_string(), None, reopened_link, None) }
            { tile("visit_coverage", lang.pick("走访覆盖率", "Visit coverage"), percent(k.visit_coverage), of(k.visited_enterprises, k.assigned_enterprises), coverage_link, None) }
            { tile("visits_per_officer", lang.pick("人均走访", "Visits per officer"), visits_per_officer, of(k.visits, k.officers), visits_link, None) }
            { tile("evidence_rate", lang.pick("现场佐证率", "On-site evidence"), percent(k.evidence_rate), of(k.visits_with_evidence, k.visits), evidence_link, None) }
            { tile("first_response_hours", lang.pick("首次答复用时（中位）", "First response (median)"), first_value, first_sub, first_link, None) }
            { tile("sign_off_hours", lang.pick("销号用时（中位）", "Time to sign-off (median)"), sign_value, sign_sub, sign_off_link, None) }
        </section>
        <p class="kpi-notes">
            { channel_split(lang, &k.rated_by_channel) }
            <span data-kpi="clamped" class={classes!((k.clamped > 0).then_some("bad"))}
                title={tip(
                    "设备时间早于其上次同步（减去允许误差）或晚于服务器收到时间的，按服务器界限计入各项指标",
                    "Device times before the device's previous sync (less the allowed skew) or after the server received them count at the server's bound in every KPI",
                )}>
                { lang.pick("按服务器时间校正：", "Corrected to server time: ") }{ k.clamped }
            </span>
        </p>
        </>
    }
}

/// 满意率 by channel: "satisfied/rated" of the enterprise's own ratings, the officer's with
/// the enterprise's signature and the officer's alone (labels from `RatingChannel`).
pub(super) fn channel_split(lang: Lang, by: &RatedByChannel) -> Html {
    let one = |channel: RatingChannel, c: &ChannelCount| {
        html! {
            <span class="channel" data-channel={channel.code()}>
                { lang.pick(channel.zh(), channel.en()) }{ " " }{ format!("{}/{}", c.satisfied, c.rated) }
            </span>
        }
    };
    html! {
        <span class="channels" title={lang.pick("满意/评价数，按评价来源", "Satisfied/rated, by where the rating came from").to_string()}>
            { lang.pick("满意率来源：", "Satisfaction by channel: ") }
            { one(RatingChannel::Enterprise, &by.enterprise) }
            { one(RatingChannel::OfficerSigned, &by.officer_signed) }
            { one(RatingChannel::Officer, &by.officer) }
        </span>
    }
}
