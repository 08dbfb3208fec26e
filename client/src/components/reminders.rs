//! The reminders (提醒, full bundle) of leaders, supervisors and department handlers, beside
//! their navigation: a button with the count of unseen in-app reminders that opens their list
//! — what, the problem it links to, when it became due — where opening one marks it seen
//! (`infra::reminders`). Read when the app opens, after every sync round (which follows the
//! server's commit notices) and every minute (the server records deadline and look-back
//! reminders as time passes, and a commit's reminders a second after it). Reminders that
//! arrive while the app is open also show as system notifications once the person has turned
//! them on with the list's button (never asked for on load); a click on one opens its problem
//! and marks it seen, as opening it from the list does. Texts follow the language switch.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use shared::model::{Role, Timestamp};
use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::api::Session;
use crate::infra::i18n::Lang;
use crate::infra::platform;
use crate::infra::reminders::{self, Permission, Reminder};
use crate::infra::route::{self, Route};

/// How often the list is read again while the app is open.
const EVERY: Duration = Duration::from_secs(60);

/// Whether `role` gets in-app reminders here.
pub fn has_reminders(role: Role) -> bool {
    matches!(
        role,
        Role::Leader | Role::Supervisor | Role::DepartmentHandler
    )
}

/// Properties of [`Reminders`].
#[derive(PartialEq, Properties)]
pub struct RemindersProps {
    /// The app context.
    pub ctx: Ctx,
}

/// What the component remembers between reads.
#[derive(Default)]
struct Known {
    /// Ids listed by an earlier read (a new id after the first read is a new reminder).
    ids: BTreeSet<i64>,
    /// Whether a read has answered since the app opened.
    read_once: bool,
    /// The latest read asked for (older answers are dropped).
    latest: u64,
}

/// What a read of the list updates.
#[derive(Clone)]
struct Handles {
    list: UseStateHandle<Vec<Reminder>>,
    read: UseStateHandle<bool>,
    known: Rc<RefCell<Known>>,
    /// The language of the render that asked, for the notifications of new reminders.
    lang: Lang,
}

impl Handles {
    /// Reads the unseen reminders into the list; an answer overtaken by a later read is
    /// dropped. Reminders first listed after the first read also show as notifications.
    async fn refresh(self, session: Session) {
        let me = {
            let mut k = self.known.borrow_mut();
            k.latest += 1;
            k.latest
        };
        let Ok(got) = reminders::unseen(&session).await else {
            return;
        };
        let mut k = self.known.borrow_mut();
        if k.latest != me {
            return;
        }
        if k.read_once {
            for r in got.iter().filter(|r| !k.ids.contains(&r.id)) {
                let (zh, en) = r.kind_names();
                let title = format!(
                    "{} · {}",
                    self.lang.pick("连心提醒", "Lianxin"),
                    self.lang.pick(zh, en)
                );
                let opened = {
                    let (handles, session) = (self.clone(), session.clone());
                    let (id, problem) = (r.id, r.problem);
                    move || {
                        route::go(&Route::Problem(problem));
                        spawn_local(handles.seen(session, vec![id]));
                    }
                };
                reminders::show(&title, r.text(self.lang), &r.id.to_string(), opened);
            }
        }
        k.ids.extend(got.iter().map(|r| r.id));
        k.read_once = true;
        drop(k);
        self.list.set(got);
        self.read.set(true);
    }

    /// Marks `ids` seen on the server, then reads the list again (what the count shows is
    /// what the server keeps).
    async fn seen(self, session: Session, ids: Vec<i64>) {
        if reminders::mark_seen(&session, &ids).await.is_ok() {
            Box::pin(self.refresh(session)).await;
        }
    }
}

/// The reminder button and its list.
#[component]
pub fn Reminders(props: &RemindersProps) -> Html {
    let ctx = &props.ctx;
    let lang = ctx.lang;
    let session = ctx.core.session();
    let list = use_state(Vec::<Reminder>::new);
    // Whether a read has answered since the component was shown.
    let read = use_state(|| false);
    let open = use_state(|| false);
    let permission = use_state(reminders::permission);
    let known = use_mut_ref(Known::default);
    let tick = use_state(|| 0u64);

    // The minute timer, for as long as the component is shown.
    {
        let tick = tick.clone();
        use_effect_with((), move |()| {
            let alive = Rc::new(RefCell::new(true));
            let running = alive.clone();
            spawn_local(async move {
                let mut n = 0;
                loop {
                    sleep(EVERY).await;
                    if !*running.borrow() {
                        break;
                    }
                    n += 1;
                    tick.set(n);
                }
            });
            move || *alive.borrow_mut() = false
        });
    }
    let handles = Handles {
        list: list.clone(),
        read: read.clone(),
        known: known.clone(),
        lang,
    };
    {
        let handles = handles.clone();
        let synced = ctx.core.status().last_success;
        let session = session.clone();
        let user = session.as_ref().map(|s| s.user.id);
        use_effect_with((user, synced, *tick), move |_| {
            if let Some(session) = session.filter(|s| has_reminders(s.user.role)) {
                spawn_local(handles.refresh(session));
            }
        });
    }

    let Some(session) = session.filter(|s| has_reminders(s.user.role)) else {
        return html! {};
    };
    let count = list.len();
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let mark = {
        let handles = handles.clone();
        let session = session.clone();
        move |ids: Vec<i64>| spawn_local(handles.clone().seen(session.clone(), ids))
    };
    let all_seen = {
        let mark = mark.clone();
        let ids: Vec<i64> = list.iter().map(|r| r.id).collect();
        Callback::from(move |_: MouseEvent| mark(ids.clone()))
    };
    let turn_on = {
        let permission = permission.clone();
        Callback::from(move |_: MouseEvent| {
            let permission = permission.clone();
            spawn_local(async move { permission.set(reminders::ask_permission().await) });
        })
    };
    let item = |r: &Reminder| {
        let (zh, en) = r.kind_names();
        let onclick = {
            let mark = mark.clone();
            let open = open.clone();
            let id = r.id;
            Callback::from(move |_: MouseEvent| {
                mark(vec![id]);
                open.set(false);
            })
        };
        html! {
            <li class="reminder" data-id={r.id.to_string()}>
                <span class="reminder-kind">{ lang.pick(zh, en) }</span>
                <a class="reminder-link" href={Route::Problem(r.problem).hash()} {onclick}>{ r.text(lang).to_string() }</a>
                <span class="muted small reminder-due">{ platform::format_time(Timestamp(r.due_at)) }</span>
            </li>
        }
    };
    let label = lang.pick("提醒", "Reminders");
    html! {
        <div class="reminders" data-read={read.to_string()}>
            <button type="button" class="reminders-toggle secondary" data-count={count.to_string()}
                aria-expanded={open.to_string()} onclick={toggle}
                aria-label={format!("{label} {count}")}>
                { label }
                if count > 0 {
                    <span class="reminder-count">{ count }</span>
                }
            </button>
            if *open {
                <div class="reminder-panel card" role="region" aria-label={label}>
                    if list.is_empty() {
                        <p class="empty">{ lang.pick("没有未读提醒。", "No unread reminders.") }</p>
                    } else {
                        <ul class="reminder-list">{ for list.iter().map(item) }</ul>
                        <button type="button" class="secondary reminders-all-seen" onclick={all_seen}>
                            { lang.pick("全部标为已读", "Mark all as read") }
                        </button>
                    }
                    if *permission == Permission::Ask {
                        <button type="button" class="secondary reminders-notify" onclick={turn_on}>
                            { lang.pick("开启桌面通知", "Turn on desktop notifications") }
                        </button>
                    }
                    if *permission == Permission::Denied {
                        <p class="muted small">{ lang.pick("浏览器已拒绝通知，可在浏览器设置中开启。", "The browser blocks notifications; allow them in its settings.") }</p>
                    }
                </div>
            }
        </div>
    }
}
