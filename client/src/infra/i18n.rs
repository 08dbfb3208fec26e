//! Every string the UI shows, in Simplified Chinese (the default) and English, looked up with
//! [`Lang::t`]; plus the words for typed errors, refusals, actions and field names.

use shared::config::Config;
use shared::doc::{DocError, DocKind};
use shared::forms::{ActionKind, FormError};
use shared::model::{CreditCodeError, UserId};
use shared::sync::protocol::Refusal;
use shared::workflow::TransitionError;

use crate::infra::db::DbError;
use crate::sync::{Core, SaveError};

/// A language the UI can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    ZhHans,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and stored preferences.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhHans => "zh-Hans",
            Self::En => "en",
        }
    }

    /// The language with this tag, if the UI has it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "zh-Hans" => Some(Self::ZhHans),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language the switch changes to.
    pub fn other(self) -> Self {
        match self {
            Self::ZhHans => Self::En,
            Self::En => Self::ZhHans,
        }
    }

    /// The language's own name for itself, as shown on the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::ZhHans => "中文",
            Self::En => "English",
        }
    }

    /// The text for `key` in this language.
    pub fn t(self, key: Key) -> &'static str {
        let (zh_hans, en) = words(key);
        self.pick(zh_hans, en)
    }

    /// Picks the Chinese or the English of a pair (labels from codes and configuration).
    pub fn pick<'a>(self, zh_hans: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::ZhHans => zh_hans,
            Self::En => en,
        }
    }
}

/// Names of the UI's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The document's title.
    PageTitle,
    /// Accessible label of the language switch.
    SwitchLanguage,
    /// Accessible label of the account link.
    SettingsLabel,
    /// Shown while storage opens.
    Opening,
    /// Storage cannot be opened.
    StorageUnavailableTitle,
    /// What to do about it.
    StorageUnavailableBody,
    /// Title of the notice a revoked device's wipe leaves on the login screen.
    RevokedTitle,
    /// Revoked device explanation.
    RevokedBody,
    /// The number of records whose unsynced changes the wipe lost, before their list.
    RevokedUnsynced,
    /// Button that hides the wipe's notice.
    RevokedUnderstood,
    /// Storage full dialog title.
    QuotaTitle,
    /// Storage full explanation.
    QuotaBody,
    /// Dismiss button.
    QuotaUnderstood,
    /// New version banner.
    UpdateReady,
    /// Reload button.
    Reload,
    /// Online state.
    Online,
    /// Offline state.
    Offline,
    /// The network is up but the server cannot be reached; `{n}`: seconds to the next retry.
    ServerUnreachable,
    /// Syncing state.
    Syncing,
    /// Changes waiting.
    WaitingCount,
    /// Before the last sync time.
    LastSync,
    /// Never synced.
    NeverSynced,
    /// Sync now button.
    SyncNow,
    /// Refused records link.
    RefusedCount,
    /// Before a sync error.
    SyncStopped,
    /// Before a storage error.
    StorageError,
    /// Login heading.
    LoginTitle,
    /// Login explanation.
    LoginIntro,
    /// Re-login explanation.
    SessionExpired,
    /// Login name label.
    LoginName,
    /// Password label.
    Password,
    /// Login button.
    LogIn,
    /// Login in progress.
    LoggingIn,
    /// Empty login.
    LoginMissing,
    /// Wrong credentials.
    LoginBadCredentials,
    /// Too many attempts.
    LoginRateLimited,
    /// No network.
    LoginOffline,
    /// Revoked device at login.
    LoginRevoked,
    /// Other user while unsynced.
    LoginOtherUserUnsynced,
    /// Other login failure.
    LoginFailed,
    /// Before the device id.
    DeviceLabel,
    /// Enterprise list heading.
    MyEnterprises,
    /// Intake link.
    Intake,
    /// Search box.
    SearchPlaceholder,
    /// Empty list.
    NoEnterprises,
    /// No search results.
    NoMatch,
    /// Never visited.
    NotVisited,
    /// Before last visit date.
    LastVisit,
    /// Before open problems count.
    OpenProblems,
    /// Before overdue count.
    Overdue,
    /// Back link.
    Back,
    /// Record missing, the device not caught up with the server (offline or syncing).
    NotOnDevice,
    /// Record missing though the device is caught up: outside the account's read scope.
    OutOfScope,
    /// A link that names no screen.
    PageNotFound,
    /// The window clerk's home heading.
    WindowDesk,
    /// Credit code label.
    CreditCode,
    /// Address label.
    Address,
    /// Industry label.
    Industry,
    /// Size label.
    Size,
    /// Key enterprise.
    ImportantEnterprise,
    /// Contact label.
    Contact,
    /// New visit button/heading.
    NewVisit,
    /// New problem button.
    NewProblem,
    /// The enterprise's 连心卡 (its printable page with the QR code).
    EnterpriseCard,
    /// Replacing a lost 连心卡.
    ReplaceCard,
    /// Problems heading.
    Problems,
    /// No problems.
    NoProblems,
    /// Before a deadline.
    Deadline,
    /// Overdue days.
    DaysOverdue,
    /// Visits heading.
    Visits,
    /// No visits.
    NoVisits,
    /// Before problems count.
    ProblemsRaised,
    /// Getting a position.
    Locating,
    /// A position fix.
    PositionFixed,
    /// Permission refused.
    PositionRefused,
    /// Position unavailable.
    PositionUnavailable,
    /// Check-in heading.
    CheckIn,
    /// The visit page's check-in distance label.
    CheckInDistance,
    /// A check-in farther from the enterprise than the district's radius.
    OutsideRadius,
    /// An on-site check-in without a position.
    NoPosition,
    /// Before check-in time.
    CheckInTime,
    /// Relocate button.
    LocateAgain,
    /// Visit method label.
    Method,
    /// Operating status label.
    OperatingStatus,
    /// Attendees label.
    Attendees,
    /// Attendees hint.
    AttendeesHint,
    /// Notes label.
    Notes,
    /// Problem sub-form legend.
    ProblemNumber,
    /// Remove problem.
    RemoveProblem,
    /// Add problem.
    AddProblem,
    /// Form errors.
    FixErrors,
    /// Saving.
    Saving,
    /// Save visit.
    SaveVisit,
    /// Not logged in.
    NotLoggedIn,
    /// Saved confirmation.
    SavedOnDevice,
    /// The photos of a visit (现场照片) or a problem, and the button adding them.
    Photos,
    /// Adds photos from the camera or the gallery.
    AddPhotos,
    /// A chosen file is not an image.
    NotAnImage,
    /// The device's storage is full: the photo was not stored.
    PhotoQuota,
    /// The photo could not be stored on the device.
    PhotoStoreFailed,
    /// On the sync bar while photo n of m uploads (`{n}` is `n/m`).
    PhotosUploading,
    /// A photo the server does not have yet.
    PhotoOnPhone,
    /// The enterprise's signature, as a record shows it ("企业签字：").
    Signed,
    /// The card where the enterprise's representative signs a visit.
    SignVisit,
    /// The signature pad's words (`photos.js` draws it): the signer's name field, where to
    /// sign, the button that wipes it; `|`-separated.
    SignPad,
    /// Saves the signature.
    SignSave,
    /// A drawn signature without the signer's name.
    SignerMissing,
    /// Saving a signature with nothing drawn.
    NothingSigned,
    /// Category label.
    Category,
    /// Select placeholder.
    Choose,
    /// After a stored category the district no longer configures.
    Retired,
    /// Class label.
    Class,
    /// Tier label.
    Tier,
    /// Deadline hint.
    SlaDeadline,
    /// Description label.
    Description,
    /// Expectation label.
    Expectation,
    /// Enterprise name label.
    EnterpriseName,
    /// Visit label.
    Visit,
    /// Refusal banner.
    RefusedByServer,
    /// How to fix.
    RefusedFixHint,
    /// The button that drops the device's refused edits.
    Discard,
    /// Asks to confirm the discard.
    DiscardConfirm,

    /// Save.
    Save,
    /// History link.
    History,
    /// Source label.
    Source,
    /// Created by label.
    CreatedBy,
    /// Open link.
    Open,
    /// Needs decision.
    NeedsDecision,
    /// Edit problem.
    EditProblem,
    /// Save changes.
    SaveChanges,
    /// Actions heading.
    Actions,
    /// New deadline.
    NewDeadline,
    /// Reason required.
    ReasonRequired,
    /// Reason optional.
    ReasonOptional,
    /// Confirm.
    Confirm,
    /// Action cannot be built.
    ActionImpossible,
    /// Response heading.
    Response,
    /// Save response.
    SaveResponse,
    /// Progress heading.
    Progress,
    /// Progress hint.
    ProgressHint,
    /// Add progress.
    AddProgress,
    /// Rating heading.
    Rating,
    /// Rating comment.
    RatingComment,
    /// Save rating.
    SaveRating,
    /// Workflow heading.
    Workflow,
    /// Superseded event.
    Superseded,
    /// Intake heading.
    IntakeTitle,
    /// Intake explanation.
    IntakeIntro,
    /// Enterprise label.
    Enterprise,
    /// Register new enterprise.
    RegisterEnterprise,
    /// Save problem.
    SaveProblem,
    /// This device.
    ThisDevice,
    /// Device prefix.
    DeviceShort,
    /// Actor prefix.
    ActorShort,
    /// Removed value.
    Removed,
    /// Conflict badge.
    Conflict,
    /// Sync page heading.
    SyncAndAccount,
    /// Sync status heading.
    SyncStatus,
    /// Clock skew warning.
    ClockSkew,
    /// Refused heading.
    RefusedRecords,
    /// None refused.
    NoneRefused,
    /// Open and fix.
    OpenAndFix,
    /// Unreadable doc.
    Unreadable,
    /// Storage heading.
    Storage,
    /// Persistent storage granted.
    PersistGranted,
    /// Persistent storage denied.
    PersistDenied,
    /// Persistent storage unknown.
    PersistUnknown,
    /// Storage use.
    StorageUse,
    /// Account heading.
    Account,
    /// Build label.
    Build,
    /// Logout blocked.
    LogoutBlocked,
    LogoutPhotosBlocked,
    /// Log out.
    LogOut,
}

/// `(Simplified Chinese, English)` for each key; the exhaustive match keeps both complete.
fn words(key: Key) -> (&'static str, &'static str) {
    match key {
        Key::PageTitle => ("连心 · 企业走访", "Lianxin · enterprise visits"),
        Key::SwitchLanguage => ("切换语言", "Switch language"),
        Key::SettingsLabel => ("同步与账户", "Sync and account"),
        Key::Opening => ("正在打开本机数据…", "Opening this device's records…"),
        Key::StorageUnavailableTitle => {
            ("无法使用本机存储", "This device's storage is unavailable")
        }
        Key::StorageUnavailableBody => (
            "连心需要浏览器的本机存储（IndexedDB）才能离线工作。请关闭无痕/隐私模式，或允许本站存储数据后重新打开。",
            "Lianxin needs the browser's storage (IndexedDB) to work offline. Leave private mode or allow this site to store data, then reopen it.",
        ),
        Key::RevokedTitle => ("此设备已被停用", "This device has been revoked"),
        Key::RevokedBody => (
            "管理员停用了这台设备。为保护企业信息，本机上的记录已清除。请重新登录（或在其他设备上登录），服务器上的数据会重新同步过来。",
            "An administrator revoked this device. To protect the enterprises' information, the records on it were wiped. Log in again (or on another device): your records come back from the server.",
        ),
        Key::RevokedUnsynced => (
            "以下 {n} 条记录的更改未上传到服务器，已随清除丢失：",
            "These {n} records had changes that never reached the server; they were lost with the wipe:",
        ),
        Key::RevokedUnderstood => ("知道了", "Understood"),
        Key::QuotaTitle => ("存储空间已满", "Storage is full"),
        Key::QuotaBody => (
            "设备存储空间不足，刚才的内容没有保存。请清理手机空间或删除其他网站数据后再保存，已保存的记录不受影响。",
            "The device's storage is full: what you just entered was NOT saved. Free some space on the phone, then save again. Records saved before are safe.",
        ),
        Key::QuotaUnderstood => ("我知道了", "I understand"),
        Key::UpdateReady => ("新版本已就绪。", "A new version is ready."),
        Key::Reload => ("刷新", "Reload"),
        Key::Online => ("在线", "Online"),
        Key::Offline => ("离线", "Offline"),
        Key::ServerUnreachable => (
            "服务器无法连接，{n} 秒后重试",
            "Server unreachable, retrying in {n} s",
        ),
        Key::Syncing => ("同步中…", "Syncing…"),
        Key::WaitingCount => ("待上传 {n} 条", "{n} waiting to upload"),
        Key::LastSync => ("上次同步", "Last sync"),
        Key::NeverSynced => ("尚未同步", "Not synced yet"),
        Key::SyncNow => ("同步", "Sync now"),
        Key::RefusedCount => (
            "{n} 条记录被服务器拒绝，点此查看并修改",
            "{n} records refused by the server: open to fix",
        ),
        Key::SyncStopped => ("同步已停止：", "Sync stopped: "),
        Key::StorageError => ("存储出错：", "Storage error: "),
        Key::LoginTitle => ("登录", "Log in"),
        Key::LoginIntro => (
            "首次使用请联网登录。登录后，没有网络也能查看和记录。",
            "Log in once with a connection; after that everything works without a network.",
        ),
        Key::SessionExpired => (
            "登录已过期，请重新登录以继续同步。本机上的记录都还在。",
            "Your session expired: log in again to keep syncing. Every record on this device is still here.",
        ),
        Key::LoginName => ("账号", "Login"),
        Key::Password => ("密码", "Password"),
        Key::LogIn => ("登录", "Log in"),
        Key::LoggingIn => ("正在登录…", "Logging in…"),
        Key::LoginMissing => ("请输入账号和密码。", "Enter your login and password."),
        Key::LoginBadCredentials => ("账号或密码不正确。", "Wrong login or password."),
        Key::LoginRateLimited => (
            "尝试次数过多，请稍后再试。",
            "Too many attempts: wait a moment and try again.",
        ),
        Key::LoginOffline => (
            "无法连接服务器。首次登录需要网络。",
            "Cannot reach the server. The first login needs a network.",
        ),
        Key::LoginRevoked => (
            "此设备已被停用，请联系管理员。",
            "This device has been revoked: contact your administrator.",
        ),
        Key::LoginOtherUserUnsynced => (
            "本机还有上一位用户未上传的更改，暂不能换人登录。请先让其联网同步。",
            "This device holds another person's unsynced changes: they must sync before someone else logs in.",
        ),
        Key::LoginFailed => ("登录失败，请稍后再试。", "Login failed: try again later."),
        Key::DeviceLabel => ("设备：", "Device: "),
        Key::MyEnterprises => ("我的包联企业", "My enterprises"),
        Key::Intake => ("窗口/热线登记", "Window / hotline"),
        Key::SearchPlaceholder => (
            "搜索企业名称、信用代码、地址",
            "Search name, credit code, address",
        ),
        Key::NoEnterprises => (
            "还没有包联企业。联网同步后会显示分配给您的企业。",
            "No enterprises yet. The enterprises assigned to you appear after a sync.",
        ),
        Key::NoMatch => ("没有符合条件的企业。", "No enterprise matches."),
        Key::NotVisited => ("未走访", "not visited"),
        Key::LastVisit => ("上次走访：", "Last visit: "),
        Key::OpenProblems => ("未办结问题：", "Open problems: "),
        Key::Overdue => ("超期：", "Overdue: "),
        Key::Back => ("返回", "Back"),
        Key::NotOnDevice => (
            "本机上还没有这条记录，联网同步后再试。",
            "This record is not on this device yet: try again after a sync.",
        ),
        Key::OutOfScope => (
            "这条记录不在本账号可查看的范围内。",
            "This record is outside what this account can see.",
        ),
        Key::PageNotFound => ("找不到这个页面。", "Page not found."),
        Key::WindowDesk => ("窗口受理", "Service window"),
        Key::CreditCode => ("统一社会信用代码", "Unified social credit code"),
        Key::Address => ("地址", "Address"),
        Key::Industry => ("行业", "Industry"),
        Key::Size => ("规模", "Size"),
        Key::ImportantEnterprise => ("重点企业", "Key enterprise"),
        Key::Contact => ("联系人", "Contact"),
        Key::NewVisit => ("新增走访", "New visit"),
        Key::NewProblem => ("登记问题", "Record a problem"),
        Key::EnterpriseCard => ("连心卡", "Lianxin card"),
        Key::ReplaceCard => ("更换连心卡", "Replace the card"),
        Key::Problems => ("问题", "Problems"),
        Key::NoProblems => ("暂无问题。", "No problems."),
        Key::Deadline => ("办结期限：", "Deadline: "),
        Key::DaysOverdue => ("超期 {n} 天", "{n} days overdue"),
        Key::Visits => ("走访记录", "Visits"),
        Key::NoVisits => ("暂无走访记录。", "No visits yet."),
        Key::ProblemsRaised => ("反映问题：", "Problems raised: "),
        Key::Locating => ("正在定位…", "Locating…"),
        Key::PositionFixed => (
            "北纬 {lat}，东经 {lon}（精度 ±{acc} 米）",
            "{lat}, {lon} (±{acc} m)",
        ),
        Key::PositionRefused => (
            "未获得定位权限（已记录，不影响保存）",
            "Location permission refused (recorded; you can still save)",
        ),
        Key::PositionUnavailable => ("无法定位（已记录）：", "No position (recorded): "),
        Key::CheckIn => ("签到", "Check-in"),
        Key::CheckInDistance => ("签到距企业", "Check-in distance"),
        Key::OutsideRadius => ("超出签到范围", "outside the check-in radius"),
        Key::NoPosition => ("无定位", "no position"),
        Key::CheckInTime => ("签到时间：", "Checked in at "),
        Key::LocateAgain => ("重新定位", "Locate again"),
        Key::Method => ("走访方式", "Method"),
        Key::OperatingStatus => ("企业生产经营状况", "Operating status"),
        Key::Attendees => ("座谈人员", "People met"),
        Key::AttendeesHint => ("多人用逗号或顿号分隔", "Separate names with commas"),
        Key::Notes => ("走访记录", "Notes"),
        Key::ProblemNumber => ("问题 {n}", "Problem {n}"),
        Key::RemoveProblem => ("删除此问题", "Remove this problem"),
        Key::AddProblem => ("＋ 添加问题", "+ Add a problem"),
        Key::FixErrors => (
            "请修改上面标出的内容。",
            "Please correct the fields marked above.",
        ),
        Key::Saving => ("正在保存…", "Saving…"),
        Key::SaveVisit => ("保存走访", "Save visit"),
        Key::NotLoggedIn => ("请先登录。", "Please log in first."),
        Key::SavedOnDevice => ("已保存到本机", "Saved on this device"),
        Key::Photos => ("现场照片", "Photos"),
        Key::AddPhotos => ("拍照或选择照片", "Take or choose photos"),
        Key::NotAnImage => (
            "所选文件不是图片，未添加",
            "That file is not an image: not added",
        ),
        Key::PhotoQuota => (
            "手机存储已满，照片未保存：请清理空间后重试",
            "The phone's storage is full: the photo was not saved. Free some space and try again",
        ),
        Key::PhotoStoreFailed => (
            "照片未能保存到本机",
            "The photo could not be saved on this device",
        ),
        Key::PhotosUploading => ("照片 {n} 上传中", "Photos {n} uploading"),
        Key::PhotoOnPhone => ("正在从干部手机上传", "Uploading from the officer's phone"),
        Key::Signed => ("企业签字：", "Enterprise's signature: "),
        Key::SignVisit => ("企业签字确认", "The enterprise signs"),
        Key::SignPad => (
            "签字人姓名|请企业负责人在框内签字|重签",
            "Signer's name|The enterprise's representative signs in the box|Clear",
        ),
        Key::SignSave => ("保存签字", "Save signature"),
        Key::SignerMissing => (
            "请填写签字人姓名（最多 50 字）",
            "Enter the signer's name (at most 50 characters)",
        ),
        Key::NothingSigned => ("请先在框内签字", "Sign in the box first"),
        Key::Category => ("问题类别", "Category"),
        Key::Choose => ("请选择", "Choose"),
        Key::Retired => ("（已停用）", " (retired)"),
        Key::Class => ("ABCD分类", "A–D class"),
        Key::Tier => ("办理层级", "Tier"),
        Key::SlaDeadline => (
            "按时限要求 {days} 天内办结：{date} 前",
            "Due within {days} days by the SLA: by {date}",
        ),
        Key::Description => ("问题描述", "Description"),
        Key::Expectation => ("企业诉求/期望", "What the enterprise expects"),
        Key::EnterpriseName => ("企业名称", "Enterprise name"),
        Key::Visit => ("走访", "Visit"),
        Key::RefusedByServer => ("服务器拒绝了这条记录：", "The server refused this record: "),
        Key::RefusedFixHint => (
            "记录仍保存在本机。修改后保存，会自动重新提交；也可以放弃本机修改。",
            "The record is kept on this device. Correct it and save: it is sent again. Or discard your changes.",
        ),
        Key::Discard => ("放弃本机修改", "Discard my changes"),
        Key::DiscardConfirm => (
            "确定放弃？本机对这条记录未被接受的修改将删除，记录恢复为服务器上的版本。",
            "Discard? This device's refused changes to the record are deleted and it goes back to the server's version.",
        ),
        Key::Save => ("保存", "Save"),
        Key::History => ("修改历史", "History"),
        Key::Source => ("问题来源", "Source"),
        Key::CreatedBy => ("登记人", "Recorded by"),
        Key::Open => ("查看", "Open"),
        Key::NeedsDecision => (
            "多人同时修改，需要确定：",
            "Edited at the same time, needs a decision:",
        ),
        Key::EditProblem => ("修改问题", "Edit problem"),
        Key::SaveChanges => ("保存修改", "Save changes"),
        Key::Actions => ("办理操作", "Actions"),
        Key::NewDeadline => ("新的办结期限", "New deadline"),
        Key::ReasonRequired => ("理由（必填）", "Reason (required)"),
        Key::ReasonOptional => ("说明（可选）", "Note (optional)"),
        Key::Confirm => ("确定", "Confirm"),
        Key::ActionImpossible => ("此操作现在无法进行。", "This action is not possible now."),
        Key::Response => ("答复企业", "Response to the enterprise"),
        Key::SaveResponse => ("保存答复", "Save response"),
        Key::Progress => ("办理进展", "Progress"),
        Key::ProgressHint => ("记录一条进展", "Add a progress entry"),
        Key::AddProgress => ("添加进展", "Add progress"),
        Key::Rating => ("企业评价", "Enterprise rating"),
        Key::RatingComment => ("企业意见", "The enterprise's words"),
        Key::SaveRating => ("保存评价", "Save rating"),
        Key::Workflow => ("办理记录", "Workflow"),
        Key::Superseded => ("未生效：", "Not applied: "),
        Key::IntakeTitle => ("窗口/热线问题登记", "Window / hotline intake"),
        Key::IntakeIntro => (
            "不经走访收集的问题：行政服务中心窗口、热线来电或企业自报。",
            "Problems collected without a visit: at the service window, by hotline or reported by the enterprise.",
        ),
        Key::Enterprise => ("企业", "Enterprise"),
        Key::RegisterEnterprise => ("＋ 登记新企业", "+ Register a new enterprise"),
        Key::SaveProblem => ("保存问题", "Save problem"),
        Key::ThisDevice => ("本机", "this device"),
        Key::DeviceShort => ("设备 ", "device "),
        Key::ActorShort => ("参与者 ", "actor "),
        Key::Removed => ("（已删除）", "(removed)"),
        Key::Conflict => ("同时修改", "concurrent"),
        Key::SyncAndAccount => ("同步与账户", "Sync and account"),
        Key::SyncStatus => ("同步状态", "Sync status"),
        Key::ClockSkew => (
            "本机时钟与服务器相差约 {m} 分钟，请校准时间。",
            "This device's clock is about {m} minutes off the server's: please set the time.",
        ),
        Key::RefusedRecords => ("被拒绝的记录", "Refused records"),
        Key::NoneRefused => ("没有被拒绝的记录。", "No refused records."),
        Key::OpenAndFix => ("打开修改", "Open and fix"),
        Key::Unreadable => ("无法读取：", "Cannot read: "),
        Key::Storage => ("本机存储", "Storage on this device"),
        Key::PersistGranted => (
            "浏览器已同意持久保存本站数据，空间紧张时也不会自动清除。",
            "The browser keeps this site's data persistently: it is not cleared when space runs low.",
        ),
        Key::PersistDenied => (
            "浏览器未同意持久保存：空间紧张时数据可能被清除。请尽快联网同步，或将本站添加到主屏幕。",
            "The browser did not grant persistent storage: data may be cleared when space runs low. Sync soon, or add the app to the home screen.",
        ),
        Key::PersistUnknown => (
            "正在询问浏览器是否持久保存数据…",
            "Asking the browser to keep data persistently…",
        ),
        Key::StorageUse => (
            "已用 {used} MB，可用上限约 {quota} MB",
            "{used} MB used of about {quota} MB",
        ),
        Key::Account => ("账户", "Account"),
        Key::Build => ("版本：", "Build: "),
        Key::LogoutBlocked => (
            "还有 {n} 条更改未上传（或被拒绝待修改），现在退出会丢失它们。请先联网同步。",
            "{n} changes have not been accepted by the server yet; logging out now would lose them. Sync first.",
        ),
        Key::LogoutPhotosBlocked => (
            "{n} 张照片尚未上传，现在退出会丢失它们。请先联网，等照片上传完成。",
            "{n} photos have not been uploaded yet; logging out now would lose them. Go online and let them upload first.",
        ),
        Key::LogOut => ("退出登录", "Log out"),
    }
}

/// What is wrong with a form field, in words.
pub fn form_error(lang: Lang, error: &FormError) -> String {
    match error {
        FormError::Required => lang.pick("此项必填。", "Required.").into(),
        FormError::TooLong { max } => match lang {
            Lang::ZhHans => format!("不能超过 {max} 个字。"),
            Lang::En => format!("At most {max} characters."),
        },
        FormError::UnknownChoice(v) => match lang {
            Lang::ZhHans => format!("“{v}”不是可选项。"),
            Lang::En => format!("{v:?} is not one of the choices."),
        },
        FormError::CreditCode(e) => credit_code_error(lang, e),
        FormError::BadDate => lang
            .pick("日期格式应为 年-月-日。", "Use a date (YYYY-MM-DD).")
            .into(),
        FormError::DateNotLater => lang
            .pick("新期限必须晚于原期限。", "The new deadline must be later.")
            .into(),
    }
}

fn credit_code_error(lang: Lang, e: &CreditCodeError) -> String {
    match (lang, e) {
        (Lang::ZhHans, CreditCodeError::Length(n)) => {
            format!("统一社会信用代码应为18位，现在是{n}位。")
        }
        (Lang::ZhHans, CreditCodeError::Character { position, ch }) => {
            format!("第{position}位的“{ch}”不是信用代码允许的字符。")
        }
        (Lang::ZhHans, CreditCodeError::Region) => "第3-8位应为6位行政区划代码。".into(),
        (Lang::ZhHans, CreditCodeError::OrgCheck { .. }) => {
            "组织机构代码校验位不正确，请核对第9-17位。".into()
        }
        (Lang::ZhHans, CreditCodeError::Check { .. }) => "校验码（第18位）不正确，请核对。".into(),
        (Lang::En, e) => format!("Credit code: {e}."),
    }
}

/// A refused workflow action, in words.
pub fn transition_error(lang: Lang, e: &TransitionError) -> String {
    if lang == Lang::En {
        return format!("{e}.");
    }
    match e {
        TransitionError::NotAllowedFrom { action, state } => {
            format!(
                "问题当前为“{}”，不能{}。",
                state.zh(),
                action_code(lang, action)
            )
        }
        TransitionError::ReasonRequired { action } => {
            format!("{}需要填写理由。", action_code(lang, action))
        }
        TransitionError::ResponseMissing { action } => {
            format!(
                "{}前需要先填写并保存答复企业的内容。",
                action_code(lang, action)
            )
        }
        TransitionError::ConfirmationOrWaiverMissing => {
            "销号需要企业确认，或记录免于确认的理由。".into()
        }
        TransitionError::NoExtensionRequested => "没有待审批的延期申请。".into(),
        TransitionError::TierNotOnSite(tier) => {
            format!(
                "只有“当场办”层级的问题可以当场办结，此问题为“{}”。",
                tier.zh()
            )
        }
        TransitionError::TierNotNext { from, to } => {
            format!("升级只能上调一级：从“{}”不能到“{}”。", from.zh(), to.zh())
        }
        TransitionError::DeadlineNotLater { .. } => "延期后的期限必须晚于当前期限。".into(),
        TransitionError::SameProblem => "问题不能与自身合并。".into(),
        TransitionError::LookBackVisitMissing { due } => format!(
            "回头看通过需要在{}之后到企业走访并签到。",
            crate::infra::platform::format_date(*due)
        ),
    }
}

/// A check-in's distance in words: metres under a kilometre, else kilometres.
pub fn distance(lang: Lang, metres: f64) -> String {
    if metres < 1000.0 {
        format!("{metres:.0}{}", lang.pick(" 米", " m"))
    } else {
        format!("{:.1}{}", metres / 1000.0, lang.pick(" 公里", " km"))
    }
}

/// Why an edit was refused, in words.
pub fn doc_error(lang: Lang, e: &DocError) -> String {
    match e {
        DocError::Refused(t) => transition_error(lang, t),
        DocError::NewerSchema { .. } => lang
            .pick(
                "这条记录由新版本创建，请更新应用。",
                "This record was written by a newer version: update the app.",
            )
            .into(),
        other => format!("{}{other}", lang.pick("无法保存：", "Cannot save: ")),
    }
}

/// Why a save failed, in words.
pub fn save_error(lang: Lang, e: &SaveError) -> String {
    match e {
        SaveError::Doc(d) => doc_error(lang, d),
        SaveError::Storage(DbError::Quota(_)) => lang
            .pick("存储空间已满，未保存。", "Storage is full: NOT saved.")
            .into(),
        SaveError::Storage(other) => format!(
            "{}{other}",
            lang.pick("未保存，存储出错：", "NOT saved, storage failed: ")
        ),
        SaveError::NoSession => lang.t(Key::NotLoggedIn).into(),
        SaveError::Discard(e) => format!("{}{e}", lang.pick("无法放弃修改：", "Cannot discard: ")),
    }
}

/// The server's reason for refusing a record, in words.
pub fn refusal(lang: Lang, r: &Refusal) -> String {
    match (lang, r) {
        (Lang::ZhHans, Refusal::Malformed(m)) => format!("数据格式错误（{m}）"),
        (Lang::ZhHans, Refusal::Invalid(m)) => format!("内容不符合规则（{m}）"),
        (Lang::ZhHans, Refusal::OutOfScope) => "不在您包联的企业范围内".into(),
        (Lang::ZhHans, Refusal::Forbidden(m)) => format!("无权进行此修改（{m}）"),
        (Lang::ZhHans, Refusal::TooLarge { limit }) => format!("记录超过服务器上限 {limit} 字节"),
        (Lang::En, r) => r.to_string(),
    }
}

/// A configured category's label (its code when the configuration lacks it).
pub fn category(lang: Lang, config: &Config, code: &str) -> String {
    config.category(code).map_or_else(
        || format!("{code}{}", lang.t(Key::Retired)),
        |c| lang.pick(&c.zh, &c.en).to_string(),
    )
}

/// A person's name: the logged-in person's own, else the directory's, else a short id.
pub fn person(lang: Lang, core: &Core, user: UserId) -> String {
    match core.session() {
        Some(s) if s.user.id == user => s.user.name,
        _ => super::directory::user_name(user).unwrap_or_else(|| {
            format!("{}{}", lang.pick("用户 ", "user "), &user.to_string()[..8])
        }),
    }
}

/// An action offered on the problem page (its label in the rights table).
pub fn action(lang: Lang, kind: ActionKind) -> &'static str {
    lang.pick(kind.zh(), kind.en())
}

/// A recorded workflow action, by its code (the code itself when unknown).
pub fn action_code(lang: Lang, code: &str) -> String {
    match ActionKind::from_code(code) {
        Ok(kind) => action(lang, kind).to_string(),
        Err(_) => code.to_string(),
    }
}

/// A record field's name, for history and needs-decision lines (dotted paths by their root).
pub fn field_name(lang: Lang, field: &str) -> String {
    let root = field.split('.').next().unwrap_or(field);
    let (zh, en) = match root {
        "category" => ("问题类别", "category"),
        "class" => ("ABCD分类", "class"),
        "tier" => ("办理层级", "tier"),
        "deadline" => ("办结期限", "deadline"),
        "description" => ("问题描述", "description"),
        "expectation" => ("企业诉求", "expectation"),
        "response" => ("答复", "response"),
        "owner" => ("责任人", "owner"),
        "leader" => ("责任领导", "leader"),
        "handling_units" => ("承办部门", "handling units"),
        "progress" => ("办理进展", "progress"),
        "supervision" => ("督办", "supervision"),
        "events" => ("办理记录", "workflow"),
        "rating" | "rating_comment" => ("企业评价", "rating"),
        "notes" => ("走访记录", "notes"),
        "method" => ("走访方式", "method"),
        "check_in" => ("签到", "check-in"),
        "attendees" => ("座谈人员", "people met"),
        "operating_status" => ("经营状况", "operating status"),
        "problems" => ("反映问题", "problems"),
        "officers" => ("走访干部", "officers"),
        "enterprise" => ("企业", "enterprise"),
        "visit" => ("走访", "visit"),
        "source" => ("来源", "source"),
        "name" => ("企业名称", "name"),
        "address" => ("地址", "address"),
        "industry" => ("行业", "industry"),
        "size" => ("规模", "size"),
        "credit_code" => ("信用代码", "credit code"),
        "contacts" => ("联系人", "contacts"),
        _ if root.starts_with("created_") => ("登记", "created"),
        _ if root.starts_with("rated_") => ("评价记录", "rated"),
        _ => (root, root),
    };
    lang.pick(zh, en).to_string()
}

/// A kind of record, in words.
pub fn doc_kind(lang: Lang, kind: DocKind) -> &'static str {
    match kind {
        DocKind::Enterprise => lang.pick("企业档案", "Enterprise"),
        DocKind::Visit => lang.pick("走访记录", "Visit"),
        DocKind::Problem => lang.pick("问题", "Problem"),
        DocKind::Monitoring => lang.pick("经济监测", "Monitoring"),
    }
}

/// A stored field value the way a person reads it: labels for codes, dates for deadlines;
/// other values as they are.
pub fn field_value(lang: Lang, config: &Config, field: &str, value: &str) -> String {
    use shared::model::{OperatingStatus, ProblemClass, ProblemSource, Rating, Tier, VisitMethod};
    let root = field.split('.').next().unwrap_or(field);
    let label = match root {
        "category" if !value.is_empty() => Some(category(lang, config, value)),
        "class" => ProblemClass::from_code(value).ok().map(|c| {
            let l = config.classes.of(c);
            lang.pick(&l.zh, &l.en).to_string()
        }),
        "tier" => Tier::from_code(value).ok().map(|t| {
            let l = config.tiers.of(t);
            lang.pick(&l.zh, &l.en).to_string()
        }),
        "source" => ProblemSource::from_code(value)
            .ok()
            .map(|s| lang.pick(s.zh(), s.en()).to_string()),
        "method" => VisitMethod::from_code(value)
            .ok()
            .map(|m| lang.pick(m.zh(), m.en()).to_string()),
        "operating_status" => OperatingStatus::from_code(value)
            .ok()
            .map(|s| lang.pick(s.zh(), s.en()).to_string()),
        "rating" if field == "rating" => Rating::from_code(value)
            .ok()
            .map(|r| lang.pick(r.zh(), r.en()).to_string()),
        "deadline" => value
            .parse::<i64>()
            .ok()
            .map(|ms| crate::infra::platform::format_date(shared::model::Timestamp(ms))),
        _ => None,
    };
    label.unwrap_or_else(|| value.to_string())
}

/// One flag rule's conditions as a legend line says them ("已超期", "距期限不足2天", …), from
/// the configured table, so a legend tells what this district's flags mean.
pub fn flag_rule(lang: Lang, rule: &shared::config::FlagRule) -> String {
    use shared::model::Rating;
    let mut parts: Vec<String> = Vec::new();
    if !rule.states.is_empty() {
        let states: Vec<&str> = rule
            .states
            .iter()
            .map(|s| lang.pick(s.zh(), s.en()))
            .collect();
        parts.push(states.join(lang.pick("或", " or ")));
    }
    let yes_no =
        |v: Option<bool>, yes: (&'static str, &'static str), no: (&'static str, &'static str)| {
            v.map(|v| {
                let (zh, en) = if v { yes } else { no };
                lang.pick(zh, en).to_string()
            })
        };
    parts.extend(yes_no(
        rule.closed,
        ("已办结", "closed"),
        ("未办结", "open"),
    ));
    parts.extend(yes_no(
        rule.overdue,
        ("已超期", "overdue"),
        ("未超期", "not overdue"),
    ));
    if let Some(days) = rule.due_within_days {
        parts.push(
            lang.pick("距期限不足{n}天", "due within {n} days")
                .replace("{n}", &days.to_string()),
        );
    }
    if let Some(level) = rule.rating_at_most {
        let rating = Rating::ALL.iter().find(|r| r.level() == level);
        let name = rating.map_or(String::new(), |r| lang.pick(r.zh(), r.en()).to_string());
        parts.push(
            lang.pick("评价为「{r}」或更差", "rated “{r}” or worse")
                .replace("{r}", &name),
        );
    }
    parts.extend(yes_no(
        rule.look_back_owed,
        (
            "差评后销号、待回头看",
            "signed off after a bad rating, look-back owed",
        ),
        ("无待回头看", "no look-back owed"),
    ));
    parts.join(lang.pick("且", " and "))
}
