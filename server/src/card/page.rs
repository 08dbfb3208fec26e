//! The 连心卡's pages as plain server-rendered HTML: the enterprise's page (its problems and
//! forms that post back, no script, a few KB), the printable card (A6 by default, A4 on
//! request, `@page` print styles) and the plain pages for a card that is no longer valid, a
//! flood, or a busy server. Simplified Chinese, English with `?lang=en`.

use std::fmt::Write as _;

use shared::config::Config;
use shared::model::Rating;

use super::{CardProblem, CardView};
use crate::store::CardFace;

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文, the default.
    Zh,
    /// English (`?lang=en`).
    En,
}

impl Lang {
    /// From the `lang` parameter: `en` is English, anything else Chinese.
    pub fn from_param(p: Option<&str>) -> Lang {
        if p == Some("en") { Lang::En } else { Lang::Zh }
    }

    fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The query string that keeps the language (`""` or `?lang=en`).
    pub fn query(self) -> &'static str {
        match self {
            Lang::Zh => "",
            Lang::En => "?lang=en",
        }
    }
}

/// What the enterprise just did, for the line of thanks at the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Confirmed a problem.
    Confirm,
    /// Disputed one.
    Dispute,
    /// Rated one.
    Rate,
    /// Raised a new one.
    Raise,
}

impl Done {
    /// From the `done` parameter.
    pub fn from_param(p: Option<&str>) -> Option<Done> {
        match p? {
            "confirm" => Some(Done::Confirm),
            "dispute" => Some(Done::Dispute),
            "rate" => Some(Done::Rate),
            "raise" => Some(Done::Raise),
            _ => None,
        }
    }

    /// The parameter's value.
    pub fn code(self) -> &'static str {
        match self {
            Done::Confirm => "confirm",
            Done::Dispute => "dispute",
            Done::Rate => "rate",
            Done::Raise => "raise",
        }
    }
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:16px/1.5 sans-serif;margin:0 auto;max-width:40em;padding:0 .8em;\
color:#222}h1{font-size:1.3em;margin:.6em 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .4em}\
h3{font-size:1em;margin:0 0 .3em}.muted{color:#666;font-size:.9em}\
article,.note,.err{border:1px solid #ccc;border-radius:6px;padding:.6em;margin:.6em 0}\
.note{background:#eefaf0;border-color:#7c7}.err{background:#fff2f0;border-color:#d88}\
.resp{background:#f6f6f6;padding:.4em;border-radius:4px;white-space:pre-wrap}\
textarea,select,input[type=text]{width:100%;box-sizing:border-box;font:inherit;margin:.2em 0}\
button{font:inherit;padding:.4em 1em;margin:.3em .3em .3em 0}\
fieldset{border:0;padding:0;margin:.3em 0}label{margin-right:.6em;white-space:nowrap}\
details{margin:.4em 0}a{color:#0645ad}";

fn head(out: &mut String, lang: Lang, title: &str) {
    let html_lang = lang.t("zh-CN", "en");
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><link rel=\"icon\" href=\"data:,\">\
         <title>{}</title><style>{STYLE}</style>\
         </head><body>",
        esc(title)
    );
}

fn hotline_line(out: &mut String, lang: Lang, hotline: &str) {
    let _ = write!(
        out,
        "<p class=\"hotline\">{}<a href=\"tel:{h}\">{h}</a></p>",
        lang.t("服务热线：", "Hotline: "),
        h = esc(hotline)
    );
}

/// The plain page for a card that is no longer valid (replaced or revoked) or never was.
pub fn invalid(lang: Lang, hotline: &str) -> String {
    message(
        lang,
        lang.t("此连心卡已失效", "This card is no longer valid"),
        lang.t(
            "此连心卡的链接已失效（可能已更换新卡）。请联系您的包联干部获取新卡，或拨打服务热线。",
            "This card's link is no longer valid (a new card may have replaced it). Ask your \
             officer for the new card, or call the hotline.",
        ),
        hotline,
    )
}

/// A plain page with a title, a sentence and the hotline.
pub fn message(lang: Lang, title: &str, text: &str, hotline: &str) -> String {
    let mut out = String::new();
    head(&mut out, lang, title);
    let _ = write!(out, "<h1>{}</h1><p>{}</p>", esc(title), esc(text));
    hotline_line(&mut out, lang, hotline);
    out.push_str("</body></html>");
    out
}

fn officers(out: &mut String, lang: Lang, face: &CardFace) {
    if face.officers.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<p class=\"officers\">{}",
        lang.t("包联干部：", "Officers: ")
    );
    for (i, (name, phone)) in face.officers.iter().enumerate() {
        if i > 0 {
            out.push_str(lang.t("；", "; "));
        }
        out.push_str(&esc(name));
        if let Some(p) = phone {
            let _ = write!(out, " <a href=\"tel:{p}\">{p}</a>", p = esc(p));
        }
    }
    out.push_str("</p>");
}

/// The enterprise's page: its card's face, its problems with what it may do on each, and the
/// form to raise a new one.
pub fn enterprise_page(
    view: &CardView,
    token: &str,
    lang: Lang,
    config: &Config,
    done: Option<Done>,
) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let title = format!(
        "{} · {}",
        lang.t("连心卡", "Lianxin card"),
        view.face.enterprise_name
    );
    head(&mut out, lang, &title);
    let other = match lang {
        Lang::Zh => format!("<a href=\"/k/{token}?lang=en\">English</a>"),
        Lang::En => format!("<a href=\"/k/{token}\">中文</a>"),
    };
    let _ = write!(
        out,
        "<p class=\"muted\">{} · {other}</p><h1>{}</h1>",
        lang.t("连心卡 · 企业服务", "Lianxin card · enterprise service"),
        esc(&view.face.enterprise_name)
    );
    officers(&mut out, lang, &view.face);
    hotline_line(&mut out, lang, &config.hotline);
    if let Some(done) = done {
        let text = match done {
            Done::Confirm => lang.t(
                "已确认问题解决，谢谢！",
                "Confirmed as resolved. Thank you!",
            ),
            Done::Dispute => lang.t(
                "已记录您的异议，包联干部会再次跟进。",
                "Your objection is recorded; your officer will follow up.",
            ),
            Done::Rate => lang.t(
                "已收到您的评价，谢谢！",
                "Your rating is recorded. Thank you!",
            ),
            Done::Raise => lang.t(
                "已收到您反映的问题，包联干部会尽快联系您。",
                "Your problem is recorded; your officer will contact you soon.",
            ),
        };
        let _ = write!(out, "<p class=\"note\" id=\"done\">{}</p>", esc(text));
    }
    let _ = write!(
        out,
        "<h2>{} ({})</h2>",
        lang.t("我反映的问题", "My problems"),
        view.problems.len()
    );
    if view.problems.is_empty() {
        let _ = write!(
            out,
            "<p class=\"muted\">{}</p>",
            lang.t("暂无问题。", "No problems yet.")
        );
    }
    for p in &view.problems {
        problem(&mut out, p, token, lang, config);
    }
    raise_form(&mut out, token, lang, config);
    out.push_str("</body></html>");
    out
}

fn problem(out: &mut String, p: &CardProblem, token: &str, lang: Lang, config: &Config) {
    let pr = &p.problem;
    let category = config
        .category(&pr.category)
        .map(|c| lang.t(&c.zh, &c.en).to_string())
        .unwrap_or_else(|| pr.category.clone());
    let state = lang.t(p.outcome.state.zh(), p.outcome.state.en());
    let deadline = p
        .outcome
        .deadline
        .day()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let id = pr.id;
    let _ = write!(
        out,
        "<article id=\"p-{id}\"><h3>{}：{}</h3><p class=\"state\">{}<b>{}</b> · {}{}</p>",
        esc(&category),
        esc(&pr.description),
        lang.t("状态：", "Status: "),
        esc(state),
        lang.t("办理时限：", "Deadline: "),
        esc(&deadline)
    );
    if pr.response.trim().is_empty() {
        let _ = write!(
            out,
            "<p class=\"muted\">{}</p>",
            lang.t("尚未答复。", "Not answered yet.")
        );
    } else {
        let _ = write!(
            out,
            "<p>{}</p><div class=\"resp\">{}</div>",
            lang.t("给您的答复：", "The response to you:"),
            esc(&pr.response)
        );
    }
    if let Some(r) = &pr.rating {
        let _ = write!(
            out,
            "<p class=\"rating\">{}{}{}</p>",
            lang.t("当前评价：", "Current rating: "),
            esc(lang.t(r.rating.zh(), r.rating.en())),
            if r.comment.is_empty() {
                String::new()
            } else {
                format!(" — {}", esc(&r.comment))
            }
        );
    }
    let action = |op: &str| format!("/k/{token}/p/{id}/{op}{}", lang.query());
    if p.may_confirm {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}\"><button name=\"confirm\" value=\"1\">{}</button></form>",
            action("confirm"),
            lang.t("确认已解决", "Confirm it is resolved")
        );
    }
    if p.may_dispute {
        let _ = write!(
            out,
            "<details><summary>{}</summary><form method=\"post\" action=\"{}\">\
             <textarea name=\"reason\" rows=\"3\" maxlength=\"1000\" required placeholder=\"{}\"></textarea>\
             <button>{}</button></form></details>",
            lang.t("有异议", "I disagree"),
            action("dispute"),
            lang.t("请写明理由", "Please say why"),
            lang.t("提交异议", "Send my objection")
        );
    }
    if p.may_rate {
        let _ = write!(
            out,
            "<details{}><summary>{}</summary><form method=\"post\" action=\"{}\"><fieldset>",
            if pr.rating.is_none() { " open" } else { "" },
            lang.t("评价办理结果", "Rate the result"),
            action("rate")
        );
        for r in Rating::ALL {
            let _ = write!(
                out,
                "<label><input type=\"radio\" name=\"rating\" value=\"{}\" required> {}</label> ",
                r.code(),
                esc(lang.t(r.zh(), r.en()))
            );
        }
        let _ = write!(
            out,
            "</fieldset><textarea name=\"comment\" rows=\"2\" maxlength=\"1000\" placeholder=\"{}\">\
             </textarea><button>{}</button></form></details>",
            lang.t("意见和建议（可选）", "Comment (optional)"),
            lang.t("提交评价", "Send my rating")
        );
    }
    out.push_str("</article>");
}

fn raise_form(out: &mut String, token: &str, lang: Lang, config: &Config) {
    let _ = write!(
        out,
        "<h2>{}</h2><form method=\"post\" action=\"/k/{token}/problems{}\" id=\"raise\">\
         <select name=\"category\" required><option value=\"\">{}</option>",
        lang.t("反映新问题", "Raise a new problem"),
        lang.query(),
        lang.t("问题类别", "Category")
    );
    for c in &config.categories {
        let _ = write!(
            out,
            "<option value=\"{}\">{}</option>",
            esc(&c.code),
            esc(lang.t(&c.zh, &c.en))
        );
    }
    let _ = write!(
        out,
        "</select><textarea name=\"description\" rows=\"3\" maxlength=\"1000\" required \
         placeholder=\"{}\"></textarea><textarea name=\"expectation\" rows=\"2\" maxlength=\"1000\" \
         placeholder=\"{}\"></textarea><button>{}</button></form>",
        lang.t("遇到了什么问题", "What is the problem"),
        lang.t("希望如何解决（可选）", "What would help (optional)"),
        lang.t("提交", "Send")
    );
}

/// Paper sizes of the printable card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// A6 (105 × 148 mm), the card itself.
    A6,
    /// A4, for an office printer.
    A4,
}

impl Paper {
    /// From the `size` parameter: `a4`, else A6.
    pub fn from_param(p: Option<&str>) -> Paper {
        if p == Some("a4") {
            Paper::A4
        } else {
            Paper::A6
        }
    }
}

/// The printable card: the enterprise, its officers and their phones, the hotline, the link
/// and its QR code, with `@page` styles for the chosen paper.
pub fn printable_card(
    face: &CardFace,
    link: &str,
    qr_svg: &str,
    hotline: &str,
    paper: Paper,
    lang: Lang,
) -> String {
    let (page, qr_mm, base) = match paper {
        Paper::A6 => ("A6", 52, "11pt"),
        Paper::A4 => ("A4", 110, "16pt"),
    };
    let style = format!(
        "@page{{size:{page};margin:8mm}}body{{font:{base}/1.45 sans-serif;margin:0 auto;\
         max-width:{w}mm;color:#000;text-align:center}}h1{{font-size:1.3em;margin:.3em 0}}\
         .qr svg{{width:{qr_mm}mm;height:{qr_mm}mm}}.link{{font:.75em monospace;word-break:break-all}}\
         .noprint{{margin:.5em 0}}@media print{{.noprint{{display:none}}}}",
        w = match paper {
            Paper::A6 => 89,
            Paper::A4 => 190,
        }
    );
    let mut out = String::with_capacity(8 * 1024);
    let title = lang.t("连心卡", "Lianxin card");
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · {}</title><style>{style}</style></head><body>\
         <p class=\"noprint\"><a href=\"?size=a6\">A6</a> · <a href=\"?size=a4\">A4</a></p>\
         <p>{}</p><h1>{}</h1>",
        lang.t("zh-CN", "en"),
        esc(&face.enterprise_name),
        lang.t("万人助万企 · 连心卡", "Lianxin card"),
        esc(&face.enterprise_name),
    );
    let _ = write!(out, "<div class=\"qr\">{qr_svg}</div>");
    let _ = write!(
        out,
        "<p>{}</p><p class=\"link\">{}</p>",
        lang.t(
            "扫码查看问题办理进度、确认和评价，或反映新问题",
            "Scan to follow your problems, confirm and rate them, or raise a new one"
        ),
        esc(link)
    );
    officers(&mut out, lang, face);
    hotline_line(&mut out, lang, hotline);
    out.push_str("</body></html>");
    out
}
