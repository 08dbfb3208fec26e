//! Every string the UI shows, in Simplified Chinese (the default) and English, looked up with
//! [`Lang::t`].

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
    /// The landing screen's heading.
    LandingTitle,
    /// What Lianxin is, in one paragraph.
    LandingDescription,
    /// Label before the server's status.
    ServerLabel,
    /// Status while the first check is under way.
    StatusChecking,
    /// Status when the server answered.
    StatusOnline,
    /// Status when the server could not be reached.
    StatusOffline,
    /// Button that checks the server again.
    CheckAgain,
}

/// `(Simplified Chinese, English)` for each key; the exhaustive match keeps both complete.
fn words(key: Key) -> (&'static str, &'static str) {
    match key {
        Key::PageTitle => ("连心 · 企业走访", "Lianxin · enterprise visits"),
        Key::SwitchLanguage => ("切换语言", "Switch language"),
        Key::LandingTitle => ("走访企业，解决问题", "Visit enterprises, solve problems"),
        Key::LandingDescription => (
            "连心帮助干部走访企业：在现场记录企业反映的问题，指定负责人并持续跟进，\
             直到问题解决、企业满意为止。它为手机设计，没有网络时也能照常使用。",
            "Lianxin helps officers visit enterprises: record the problems an enterprise raises \
             on the spot, assign who handles each one, and follow it until it is solved and the \
             enterprise is satisfied. It is made for phones and keeps working without a network.",
        ),
        Key::ServerLabel => ("服务器：", "Server: "),
        Key::StatusChecking => ("正在检查…", "checking…"),
        Key::StatusOnline => ("在线", "online"),
        Key::StatusOffline => ("离线", "offline"),
        Key::CheckAgain => ("重新检查", "Check again"),
    }
}
