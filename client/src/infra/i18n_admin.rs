//! The administrator's screens' words, Simplified Chinese and English (full bundle only, so
//! the officer bundle carries none of them): [`Lang::a`] looks one up; audit actions and
//! refusals are named here too.

use super::admin::AdminError;
use super::api::ApiError;
use super::i18n::Lang;

/// A label of the admin screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum A {
    Title,
    Users,
    Devices,
    Imports,
    Assignments,
    Backups,
    Config,
    Audit,
    Login,
    Name,
    Role,
    OrgUnit,
    Phone,
    Password,
    Status,
    Active,
    Disabled,
    LockedOut,
    Disable,
    Enable,
    ResetPassword,
    NewPassword,
    Save,
    Cancel,
    AddUser,
    Add,
    Added,
    Done,
    Loading,
    Device,
    User,
    LastSeen,
    LastSync,
    Unsynced,
    Never,
    Revoke,
    Revoked,
    ImportUsers,
    ImportOrgUnits,
    ImportEnterprises,
    ImportAssignments,
    ChooseFile,
    Import,
    ImportedRows,
    PresentRows,
    NothingImported,
    Line,
    GeneratedPasswords,
    GeneratedHint,
    Enterprise,
    EnterpriseHint,
    EndAssignment,
    MoveTo,
    Move,
    Ended,
    Moved,
    Schedule,
    BackupsOff,
    EveryHours,
    Keep,
    RunNow,
    Running,
    TakenAt,
    Size,
    RestoreTitle,
    RestoreSteps,
    Version,
    CurrentConfig,
    ValidateConfig,
    Validate,
    Valid,
    Invalid,
    ApplyHint,
    ApplyConfig,
    ApplyConfirm,
    ConfirmApply,
    Applied,
    RestartNeeded,
    Actor,
    Action,
    Subject,
    Detail,
    Time,
    AnyAction,
    Search,
    Filter,
    More,
    Verify,
    ChainIntact,
    ChainBroken,
    ExportCsv,
}

impl Lang {
    /// The admin screens' text for `key` in this language.
    pub fn a(self, key: A) -> &'static str {
        let (zh, en) = words(key);
        self.pick(zh, en)
    }
}

fn words(key: A) -> (&'static str, &'static str) {
    use A::*;
    match key {
        Title => ("系统管理", "Administration"),
        Users => ("用户", "Users"),
        Devices => ("设备", "Devices"),
        Imports => ("导入", "Imports"),
        Assignments => ("包联调整", "Assignments"),
        Backups => ("备份", "Backups"),
        Config => ("配置", "Configuration"),
        Audit => ("审计日志", "Audit log"),
        Login => ("登录名", "Login"),
        Name => ("姓名", "Name"),
        Role => ("角色", "Role"),
        OrgUnit => ("单位代码", "Org unit code"),
        Phone => ("电话", "Phone"),
        Password => ("密码", "Password"),
        Status => ("状态", "Status"),
        Active => ("正常", "Active"),
        Disabled => ("已停用", "Disabled"),
        LockedOut => ("登录暂被锁定", "Locked out for now"),
        Disable => ("停用", "Disable"),
        Enable => ("启用", "Enable"),
        ResetPassword => ("重置密码", "Reset password"),
        NewPassword => ("新密码", "New password"),
        Save => ("保存", "Save"),
        Cancel => ("取消", "Cancel"),
        AddUser => ("添加用户", "Add a user"),
        Add => ("添加", "Add"),
        Added => ("已添加", "Added"),
        Done => ("已完成", "Done"),
        Loading => ("加载中…", "Loading…"),
        Device => ("设备", "Device"),
        User => ("用户", "User"),
        LastSeen => ("最近联系", "Last seen"),
        LastSync => ("最近同步", "Last sync"),
        Unsynced => ("未同步", "Unsynced"),
        Never => ("从未", "Never"),
        Revoke => ("吊销", "Revoke"),
        Revoked => ("已吊销", "Revoked"),
        ImportUsers => (
            "批量导入用户（CSV：login,name,role,org_unit,phone,password；密码留空则自动生成）",
            "Import users (CSV: login,name,role,org_unit,phone,password; an empty password is generated)",
        ),
        ImportOrgUnits => (
            "导入组织机构（CSV：code,name,kind,parent）",
            "Import org units (CSV: code,name,kind,parent)",
        ),
        ImportEnterprises => (
            "导入企业（CSV：credit_code,name,town,address,industry,size,key_enterprise,lat,lon）",
            "Import enterprises (CSV: credit_code,name,town,address,industry,size,key_enterprise,lat,lon)",
        ),
        ImportAssignments => (
            "导入包联（CSV：credit_code,login,valid_from,valid_to）",
            "Import assignments (CSV: credit_code,login,valid_from,valid_to)",
        ),
        ChooseFile => ("选择文件", "Choose a file"),
        Import => ("导入", "Import"),
        ImportedRows => ("已导入", "Imported"),
        PresentRows => ("已存在（未改动）", "Already present (unchanged)"),
        NothingImported => (
            "文件有误，未导入任何记录：",
            "The file has errors; nothing was imported:",
        ),
        Line => ("第 {} 行", "line {}"),
        GeneratedPasswords => (
            "生成的密码（只显示这一次）",
            "Generated passwords (shown this once)",
        ),
        GeneratedHint => (
            "请把密码分别交给本人，并请其登录后修改密码。",
            "Hand each person theirs and ask them to change it after logging in.",
        ),
        Enterprise => ("企业", "Enterprise"),
        EnterpriseHint => ("统一社会信用代码或企业编号", "Credit code or enterprise id"),
        EndAssignment => ("结束包联", "End assignment"),
        MoveTo => ("调整给（登录名）", "Move to (login)"),
        Move => ("调整", "Move"),
        Ended => ("包联已结束", "Assignment ended"),
        Moved => ("包联已调整", "Assignment moved"),
        Schedule => ("计划", "Schedule"),
        BackupsOff => (
            "未配置备份目录（配置文件 [backup] directory）。",
            "No backup directory configured ([backup] directory in the configuration file).",
        ),
        EveryHours => ("每隔（小时）", "Every (hours)"),
        Keep => ("保留份数", "Keep"),
        RunNow => ("立即备份", "Back up now"),
        Running => ("正在备份…", "Backing up…"),
        TakenAt => ("时间", "Taken"),
        Size => ("大小", "Size"),
        RestoreTitle => ("如何恢复", "How to restore"),
        RestoreSteps => (
            "1. 停止服务器；2. 运行 lianxin-server restore --db 数据库文件 --from 备份文件；3. 启动服务器。各设备随后自动补齐缺少的数据。",
            "1. Stop the server; 2. run lianxin-server restore --db DATABASE --from BACKUP; 3. start the server. Devices then catch up on what they lack by themselves.",
        ),
        Version => ("版本", "Version"),
        CurrentConfig => ("当前配置", "Current configuration"),
        ValidateConfig => ("检查配置文件", "Validate a configuration file"),
        Validate => ("检查", "Validate"),
        Valid => (
            "配置有效，设备将收到版本",
            "Valid; devices will be told version",
        ),
        Invalid => ("配置有误：", "The configuration has errors:"),
        ApplyHint => (
            "检查通过后可直接应用，无需重启：文件替换服务器的配置文件，记入审计日志，各设备下次同步后使用新配置。",
            "Once valid it can be applied without a restart: the file replaces the server's configuration file, the change is recorded in the audit log, and devices take it after their next sync.",
        ),
        ApplyConfig => ("应用此配置", "Apply this configuration"),
        ApplyConfirm => (
            "确认应用？服务器立即使用新配置，各设备下次同步后更新；已有记录不受影响。",
            "Apply it? The server runs it at once and devices take it after their next sync; stored records are not affected.",
        ),
        ConfirmApply => ("确认应用", "Yes, apply"),
        Applied => ("已应用，当前版本", "Applied; running version"),
        RestartNeeded => (
            "以下部分在服务器重启后生效：",
            "These sections take effect when the server restarts:",
        ),
        Actor => ("操作人", "Actor"),
        Action => ("操作", "Action"),
        Subject => ("对象", "Subject"),
        Detail => ("详情", "Detail"),
        Time => ("时间", "Time"),
        AnyAction => ("全部操作", "Any action"),
        Search => ("包含文字", "Containing"),
        Filter => ("筛选", "Filter"),
        More => ("更多", "More"),
        Verify => ("校验哈希链", "Verify the chain"),
        ChainIntact => (
            "审计日志完整，条目数：",
            "The audit log is intact; entries:",
        ),
        ChainBroken => (
            "审计日志被改动，首个异常条目：",
            "The audit log was altered; first bad entry:",
        ),
        ExportCsv => ("导出 CSV", "Export CSV"),
    }
}

/// An audit action's label (its code when unknown).
pub fn action_label(lang: Lang, code: &str) -> String {
    let pair = match code {
        "login" => ("登录", "login"),
        "login_failed" => ("登录失败", "failed login"),
        "logout" => ("退出登录", "logout"),
        "user_added" => ("添加用户", "user added"),
        "user_disabled" => ("停用用户", "user disabled"),
        "user_enabled" => ("启用用户", "user enabled"),
        "password_reset" => ("重置密码", "password reset"),
        "device_revoked" => ("吊销设备", "device revoked"),
        "imported" => ("导入", "imported"),
        "backed_up" => ("备份", "backed up"),
        "restored" => ("恢复", "restored"),
        "config_applied" => ("应用配置", "configuration applied"),
        "card_changed" => ("连心卡更换或作废", "card replaced or revoked"),
        "bulletin_issued" => ("发布通报", "bulletin issued"),
        "refresh_token_reused" => ("刷新令牌被重复使用", "refresh token reused"),
        "refresh_retried" => ("刷新重试", "refresh retried"),
        "password_changed" => ("修改本人密码", "own password changed"),
        "own_device_revoked" => ("吊销本人设备", "own device revoked"),
        "handover_imported" => ("导入交接文件", "handover imported"),
        "assignment_ended" => ("结束包联", "assignment ended"),
        "assignment_moved" => ("调整包联", "assignment moved"),
        _ => return code.to_string(),
    };
    lang.pick(pair.0, pair.1).to_string()
}

/// A failed call as the screens say it.
pub fn error_text(lang: Lang, e: &AdminError) -> String {
    match e {
        AdminError::Lines(lines) => format!("{} {}", lang.a(A::NothingImported), lines.len()),
        AdminError::Api(ApiError::Unreachable) => lang
            .pick("无法连接服务器。", "The server cannot be reached.")
            .into(),
        AdminError::Api(ApiError::TokenExpired) => lang
            .pick(
                "登录已过期，请同步或重新登录。",
                "The session expired; sync or log in again.",
            )
            .into(),
        AdminError::Api(ApiError::NotFound) => lang.pick("未找到。", "Not found.").into(),
        AdminError::Api(ApiError::Status(_, message)) => message.clone(),
        AdminError::Api(other) => format!("{other:?}"),
    }
}

/// `Line` with the number filled in.
pub fn line_label(lang: Lang, line: u64) -> String {
    lang.a(A::Line).replace("{}", &line.to_string())
}
