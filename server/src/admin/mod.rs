//! The administrator's command line (`lianxin-server users|devices|org-units|enterprises|
//! assignments|config|backup|restore|demo|audit`): each subcommand opens the database named by
//! `--db`, does one job through the store's use-case methods, records it in the audit log
//! when it changes something, and prints what it did. Imports are all-or-nothing and report
//! every error with its line number.

pub mod accounts;
pub mod assignments;
mod audit;
mod backup;
mod config_apply;
mod enterprise_input;
pub mod enterprises;
mod enterprises_cli;
pub mod handover;
mod import;
pub mod import_assignments;
pub mod import_enterprises;
mod import_org_units;
pub mod import_users;
mod lock;
pub mod org_units;
mod org_units_cli;
pub mod xlsx;

use std::io::{BufRead as _, Write};
use std::path::Path;

pub use audit::{CSV_HEADER as AUDIT_CSV_HEADER, csv_row as audit_csv_row};
pub use backup::{backup, restore};
pub use import::{ImportFile, ImportKind, ImportReport, LineError, import_audited};
pub use import_assignments::{import_assignments, parse_date};
pub use import_enterprises::{EnterpriseReport, import_enterprises};
pub use import_org_units::{check_org_units, import_org_units};
pub use lock::{DbLock, holder_name, lock_db};

use shared::model::DeviceId;

use crate::auth::{self, Secret};
use crate::cli::{
    BackupArgs, BackupCommand, Command, ConfigCommand, DevicesCommand, EnterprisesCommand,
    HandoverCommand, ImportCommand, OrgUnitsCommand, UsersCommand,
};
use crate::printable::printable;
use crate::store::{AuditAction, SqliteStore, StoreError};

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The store failed or refused (unknown login, duplicate …).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An import file has errors; nothing was stored.
    #[error("{} error(s), nothing was imported:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Lines(Vec<LineError>),
    /// The input given is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A new password breaks the password policy (every rule broken is named).
    #[error("{0}")]
    Policy(#[from] crate::auth::policy::PolicyError),
    /// A server runs on the database: a command that writes it is refused (`admin::lock`).
    #[error(
        "服务器正在使用数据库 {db}（{holder}）：此命令会写入数据库，请先停止服务器；用户、设备、组织机构、导入与包联可通过运行中的服务器管理（/api/admin/users、/api/admin/devices、/api/admin/org-units、/api/admin/imports、/api/admin/assignments）；区县配置可通过 /api/admin/config 应用，或发送 SIGHUP 让服务器重新读取其配置文件。\n\
         a server ({holder}) is running on {db}: this command writes the database; stop the \
         server first. The running server applies a district configuration through \
         POST /api/admin/config (the admin screen), or reloads its --config file on SIGHUP \
         (kill -HUP PID). Users, devices, org units, imports and assignments are managed \
         through the running server as an administrator: /api/admin/users (add, disable, \
         enable, password), /api/admin/devices (revoke), /api/admin/org-units (add, rename, \
         move), /api/admin/imports/{{org-units,enterprises,\
         assignments,users}} (the CSV or .xlsx file as the body), /api/admin/assignments/\
         {{enterprise}}/end|move and /api/admin/enterprises/{{id}}/edit|merge"
    )]
    InUse {
        /// The database file.
        db: std::path::PathBuf,
        /// The process holding it, as `pid N`.
        holder: String,
    },
}

/// Runs an admin subcommand, printing to `out`. `serve` is not handled here.
///
/// # Errors
/// [`AdminError`], with a message for the administrator.
pub fn run(command: Command, out: &mut dyn Write) -> Result<(), AdminError> {
    let now = auth::now();
    // A configuration is validated before anything else: its errors are listed even while a
    // server runs.
    if let Command::Config(ConfigCommand::Apply(a)) = &command {
        config_apply::validate(a)?;
    }
    // Held for the command's run: no server starts on the file meanwhile.
    let _lock = match writes(&command) {
        Some(db) => Some(lock::for_writing(db)?),
        None => None,
    };
    match command {
        Command::Serve(_) => Err(AdminError::Invalid("serve is not an admin command".into())),
        Command::Users(UsersCommand::Add(a)) => {
            let mut store = SqliteStore::open(&a.db.db)?;
            let checked = accounts::check_account(
                &store,
                &accounts::NewAccount {
                    login: a.login,
                    name: a.name,
                    role: a.role,
                    org_unit: a.org_unit,
                    phone: a.phone,
                },
            )?;
            let secret = read_password(a.password_stdin)?;
            let hash = accounts::new_password(&secret, &checked.user.login, None)?;
            accounts::add_account(&mut store, &checked, hash, now, &audit::cli_actor())?;
            let user = &checked.user;
            writeln!(
                out,
                "added {} ({}, {}) in {} as user {}",
                user.login,
                user.name,
                user.role.code(),
                checked.unit_code,
                user.id
            )?;
            Ok(())
        }
        Command::Users(UsersCommand::List(db)) => {
            let store = SqliteStore::open(&db.db)?;
            let units = store.list_org_units()?;
            writeln!(out, "login\tname\trole\torg_unit\tstatus\tid")?;
            for u in store.list_users()? {
                let unit = units
                    .iter()
                    .find(|o| o.unit.id == u.user.org_unit)
                    .map_or("?", |o| o.code.as_str());
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    printable(&u.user.login),
                    printable(&u.user.name),
                    u.user.role.code(),
                    unit,
                    if u.disabled { "disabled" } else { "active" },
                    u.user.id
                )?;
            }
            Ok(())
        }
        Command::Users(UsersCommand::Disable(a)) => {
            let mut store = SqliteStore::open(&a.db.db)?;
            let revoked = store.disable_user(&a.login, now, &audit::cli_actor())?;
            writeln!(
                out,
                "disabled {}; {} device(s) revoked",
                a.login,
                revoked.len()
            )?;
            Ok(())
        }
        Command::Users(UsersCommand::Enable(a)) => {
            let mut store = SqliteStore::open(&a.db.db)?;
            store.enable_user(&a.login, now, &audit::cli_actor())?;
            writeln!(out, "enabled {}; they log in with their password", a.login)?;
            Ok(())
        }
        Command::Users(UsersCommand::ResetPassword(a)) => {
            let mut store = SqliteStore::open(&a.db.db)?;
            let Some(user) = store.find_user_by_login(&a.login)? else {
                return Err(StoreError::NotFound {
                    what: "user",
                    key: a.login,
                }
                .into());
            };
            let secret = read_password(a.password_stdin)?;
            let hash = accounts::new_password(&secret, &a.login, Some(&user.password_hash))?;
            store.set_password(&a.login, &hash, now, &audit::cli_actor())?;
            writeln!(out, "password of {} reset; their sessions ended", a.login)?;
            Ok(())
        }
        Command::Devices(DevicesCommand::List(a)) => {
            let store = SqliteStore::open(&a.db.db)?;
            writeln!(out, "device\tuser\tname\tregistered\tlast_seen\tstatus")?;
            for (d, login) in store.list_devices(a.user.as_deref())? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    d.id,
                    printable(&login),
                    printable(&d.name),
                    d.registered_at,
                    d.last_seen,
                    d.revoked_at
                        .map_or_else(|| "active".to_string(), |t| format!("revoked {t}"))
                )?;
            }
            Ok(())
        }
        Command::Devices(DevicesCommand::Revoke(a)) => {
            let id = DeviceId::parse(&a.device).map_err(|e| AdminError::Invalid(e.to_string()))?;
            let mut store = SqliteStore::open(&a.db.db)?;
            store.revoke_device(id, now, &audit::cli_actor())?;
            writeln!(
                out,
                "revoked {id}: its next request is refused and it wipes its local data"
            )?;
            Ok(())
        }
        Command::OrgUnits(OrgUnitsCommand::Import(a)) => {
            cli_import(ImportKind::OrgUnits, &a, now, out)
        }
        Command::OrgUnits(OrgUnitsCommand::List(db)) => org_units_cli::list(&db.db, out),
        Command::OrgUnits(OrgUnitsCommand::Add(a)) => org_units_cli::add(&a, now, out),
        Command::OrgUnits(OrgUnitsCommand::Rename(a)) => org_units_cli::rename(&a, now, out),
        Command::OrgUnits(OrgUnitsCommand::Move(a)) => org_units_cli::move_to(&a, now, out),
        Command::Users(UsersCommand::Import(a)) => cli_import(ImportKind::Users, &a, now, out),
        Command::Enterprises(EnterprisesCommand::Import(a)) => {
            cli_import(ImportKind::Enterprises, &a, now, out)
        }
        Command::Enterprises(EnterprisesCommand::List(a)) => enterprises_cli::list(&a, out),
        Command::Enterprises(EnterprisesCommand::Show(a)) => enterprises_cli::show(&a, out),
        Command::Enterprises(EnterprisesCommand::Edit(a)) => enterprises_cli::edit(&a, now, out),
        Command::Enterprises(EnterprisesCommand::Merge(a)) => enterprises_cli::merge(&a, now, out),
        Command::Assignments(ImportCommand::Import(a)) => {
            cli_import(ImportKind::Assignments, &a, now, out)
        }
        Command::Config(ConfigCommand::Show(a)) => {
            let config = crate::serve::load_config(a.config.as_deref())
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            let text = config
                .to_toml()
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            let version = crate::published_config::PublishedConfig::new(&config);
            writeln!(out, "# version {} (GET /api/config)", version.version())?;
            write!(out, "{text}")?;
            Ok(())
        }
        Command::Config(ConfigCommand::Apply(a)) => config_apply::apply(&a, now, out),
        Command::Config(ConfigCommand::Validate(a)) => {
            let config = crate::serve::load_config(a.config.as_deref())
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            writeln!(
                out,
                "{} is valid; devices will be told version {}",
                a.config.as_deref().map_or_else(
                    || "the demo district's configuration (no file given)".into(),
                    |p| p.display().to_string()
                ),
                crate::published_config::PublishedConfig::new(&config).version()
            )?;
            Ok(())
        }
        Command::Backup(BackupArgs {
            command: Some(BackupCommand::List(a)),
            ..
        }) => list_backups(a.config.as_deref(), out),
        Command::Backup(a) => {
            let to =
                a.to.ok_or_else(|| AdminError::Invalid("backup needs --to FILE".into()))?;
            backup(&a.db.db, &to)?;
            SqliteStore::open(&a.db.db)?.audit(
                now,
                &audit::cli_actor(),
                AuditAction::BackedUp,
                &to.display().to_string(),
                "",
            )?;
            writeln!(out, "backed up {} to {}", a.db.db.display(), to.display())?;
            Ok(())
        }
        Command::Restore(a) => {
            restore(&a.db.db, &a.from, a.force)?;
            SqliteStore::open(&a.db.db)?.audit(
                now,
                &audit::cli_actor(),
                AuditAction::Restored,
                &a.from.display().to_string(),
                "",
            )?;
            writeln!(
                out,
                "restored {} from {}",
                a.db.db.display(),
                a.from.display()
            )?;
            Ok(())
        }
        Command::Demo(db) => demo(&db.db, out),
        Command::Migrate(a) => crate::pg::migrate::run_command(&a, out),
        Command::Audit(command) => audit::run(command, out),
        Command::Handover(HandoverCommand::Import(a)) => {
            let config = crate::serve::load_config(a.config.as_deref())
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            let bytes = std::fs::read(&a.file).map_err(|e| {
                AdminError::Invalid(format!("cannot read {}: {e}", a.file.display()))
            })?;
            let mut store = SqliteStore::open(&a.db.db)?;
            let report = handover::import_handover(&mut store, &config, &bytes, now)?;
            store.audit(
                now,
                &audit::cli_actor(),
                AuditAction::HandoverImported,
                &report.device,
                &format!(
                    "{}: {} document(s) accepted, {} refused",
                    a.file.display(),
                    report.accepted,
                    report.refused.len()
                ),
            )?;
            writeln!(
                out,
                "handover of device {}: {} document(s) accepted, {} refused",
                report.device,
                report.accepted,
                report.refused.len()
            )?;
            for refused in &report.refused {
                writeln!(out, "refused {}", printable(refused))?;
            }
            Ok(())
        }
    }
}

/// The database a command writes, if it writes one: such a command runs only while no server
/// holds the file (`admin::lock`). `restore` takes the lock itself (`--force` overrides it);
/// lists, `audit`, `config` and `backup` only read.
fn writes(command: &Command) -> Option<&Path> {
    match command {
        Command::Users(UsersCommand::Add(a)) => Some(&a.db.db),
        Command::Users(UsersCommand::Disable(a) | UsersCommand::Enable(a)) => Some(&a.db.db),
        Command::Users(UsersCommand::ResetPassword(a)) => Some(&a.db.db),
        Command::Devices(DevicesCommand::Revoke(a)) => Some(&a.db.db),
        Command::OrgUnits(OrgUnitsCommand::Add(a)) => Some(&a.db.db),
        Command::OrgUnits(OrgUnitsCommand::Rename(a)) => Some(&a.db.db),
        Command::OrgUnits(OrgUnitsCommand::Move(a)) => Some(&a.db.db),
        Command::OrgUnits(OrgUnitsCommand::Import(a))
        | Command::Users(UsersCommand::Import(a))
        | Command::Enterprises(EnterprisesCommand::Import(a))
        | Command::Assignments(ImportCommand::Import(a)) => Some(&a.db.db),
        Command::Enterprises(EnterprisesCommand::Edit(a)) => Some(&a.db.db),
        Command::Enterprises(EnterprisesCommand::Merge(a)) => Some(&a.db.db),
        Command::Demo(db) => Some(&db.db),
        Command::Migrate(a) => Some(&a.from),
        Command::Handover(HandoverCommand::Import(a)) => Some(&a.db.db),
        Command::Config(ConfigCommand::Apply(a)) => Some(&a.db.db),
        Command::Serve(_)
        | Command::Users(UsersCommand::List(_))
        | Command::Devices(DevicesCommand::List(_))
        | Command::OrgUnits(OrgUnitsCommand::List(_))
        | Command::Enterprises(EnterprisesCommand::List(_) | EnterprisesCommand::Show(_))
        | Command::Config(_)
        | Command::Backup(_)
        | Command::Restore(_)
        | Command::Audit(_) => None,
    }
}

/// `backup list`: the verified backups in the configuration file's `[backup] directory`.
fn list_backups(config: Option<&Path>, out: &mut dyn Write) -> Result<(), AdminError> {
    let (_, settings) =
        crate::serve::load_settings(config).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let Some(dir) = settings.backup.directory else {
        return Err(AdminError::Invalid(
            "备份未配置 / no [backup] directory in the configuration file (--config)".into(),
        ));
    };
    writeln!(out, "name\ttaken_at\tbytes\tblobs\tpath")?;
    for b in crate::backups::list(&dir)? {
        let at = chrono::DateTime::from_timestamp_millis(b.taken_at)
            .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_default();
        writeln!(
            out,
            "{}\t{at}\t{}\t{}\t{}",
            b.name,
            b.bytes,
            b.blobs,
            b.path.display()
        )?;
    }
    Ok(())
}

/// `demo --db FILE`: seeds the demo district (see [`crate::demo`]) into the database.
fn demo(db: &Path, out: &mut dyn Write) -> Result<(), AdminError> {
    let mut store = crate::store::SqliteStore::open(db)?;
    let now = crate::auth::now();
    let s = crate::demo::seed(&mut store, &shared::config::Config::demo(), now)
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    writeln!(
        out,
        "seeded the demo district into {}: {} org units, {} users, {} enterprises, {} assignments, {} visits, {} problems ({} documents)",
        db.display(),
        s.org_units,
        s.users,
        s.enterprises,
        s.assignments,
        s.visits,
        s.problems,
        s.documents
    )?;
    writeln!(
        out,
        "log in as officer1..officer6, leader1, leader2, handler1..handler4, window1 or admin; password: {}",
        crate::demo::DEMO_PASSWORD
    )?;
    Ok(())
}

/// `org-units|enterprises|assignments import FILE`: the import, audited as the command line's.
fn cli_import(
    kind: ImportKind,
    a: &crate::cli::ImportArgs,
    now: shared::model::Timestamp,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let mut store = SqliteStore::open(&a.db.db)?;
    let bytes = read(&a.file)?;
    let report = import_audited(
        &mut store,
        kind,
        ImportFile::sniff(&bytes)?,
        now,
        &audit::cli_actor(),
        &a.file.display().to_string(),
    )?;
    writeln!(out, "imported {report}")?;
    if !report.generated.is_empty() {
        // Told once: the administrator hands each person theirs.
        writeln!(out, "login\tpassword (generated; shown once)")?;
        for (login, secret) in &report.generated {
            writeln!(out, "{}\t{}", printable(login), secret.expose())?;
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, AdminError> {
    std::fs::read(path)
        .map_err(|e| AdminError::Invalid(format!("cannot read {}: {e}", path.display())))
}

/// The password from standard input's first line, or typed twice at a prompt.
fn read_password(from_stdin: bool) -> Result<Secret, AdminError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        return Ok(Secret::new(line));
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Password again: ")?;
    if first != again {
        return Err(AdminError::Invalid("the passwords differ".into()));
    }
    Ok(Secret::new(first))
}
