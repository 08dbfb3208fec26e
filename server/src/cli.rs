//! The `lianxin-server` command line: subcommands, flags and their environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `lianxin-server`: the Lianxin (连心) server.
#[derive(Debug, Parser)]
#[command(name = "lianxin-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The server's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the health check, the API and the built web client over HTTP.
    Serve(ServeArgs),
    /// Manage users: add, list, disable, reset a password.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage devices: list, revoke a lost phone.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Org units (zone, towns, departments): import from CSV, list as a tree, add one, rename
    /// one, put one under another parent.
    #[command(subcommand, name = "org-units")]
    OrgUnits(OrgUnitsCommand),
    /// Enterprises: import from CSV or .xlsx (stored as enterprise profile documents), list,
    /// show, edit, merge two profiles of one enterprise.
    #[command(subcommand)]
    Enterprises(EnterprisesCommand),
    /// Assignments (包联) from CSV.
    #[command(subcommand)]
    Assignments(ImportCommand),
    /// Show or validate the district configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Copy the database with `VACUUM INTO` (safe while the server runs), or list the
    /// scheduled backups (`backup list`).
    Backup(BackupArgs),
    /// Replace the database by a backup (after checking the backup).
    Restore(RestoreArgs),
    /// Seed a demo district (3 towns, 4 departments, 40 enterprises, visits and problems).
    Demo(DbArg),
    /// Read, verify or export the audit log (审计日志).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Apply a handover file (交接文件): a phone's unsynced changes, checked like its sync.
    #[command(subcommand)]
    Handover(HandoverCommand),
    /// Copy a district's SQLite database into an empty PostgreSQL database and verify the
    /// copy (counts, each document's heads and hashes); what stays behind is listed.
    Migrate(MigrateArgs),
}

/// `lianxin-server migrate --from lianxin.db --to postgres://…`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite database to copy (not changed, beyond its own migrations).
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL database to copy into (`postgres://user@host:port/db`); it must be empty.
    #[arg(long)]
    pub to: String,
}

/// `lianxin-server handover …`.
#[derive(Debug, Subcommand)]
pub enum HandoverCommand {
    /// Check a handover file (the device's signature, its user, scopes and rules) and apply
    /// its changes as the device's own push; refused documents are listed.
    Import(HandoverArgs),
}

/// Flags of `handover import`.
#[derive(Debug, Clone, Args)]
pub struct HandoverArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The district configuration the server runs with (TOML); the built-in defaults when
    /// absent.
    #[arg(long, env = "LIANXIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The handover file the phone exported.
    pub file: PathBuf,
}

/// `lianxin-server audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the log, oldest first (tab-separated, or CSV with `--csv`).
    List(AuditListArgs),
    /// Check the hash chain: exits with an error naming the first entry that does not hold.
    Verify(DbArg),
}

/// Flags of `audit list`.
#[derive(Debug, Clone, Args)]
pub struct AuditListArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// Only entries after this position.
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    /// Write CSV (UTF-8 with a BOM, for spreadsheet programs) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

/// The database every admin subcommand works on.
#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// The SQLite database file (created when missing).
    #[arg(long, env = "LIANXIN_DB", default_value = "lianxin.db")]
    pub db: PathBuf,
}

/// `lianxin-server users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password comes from `--password-stdin` or a prompt, never a flag.
    Add(UserAddArgs),
    /// List users.
    List(DbArg),
    /// Disable a user: no more logins, and every device of theirs is revoked.
    Disable(LoginArgs),
    /// Enable a disabled user again (their revoked devices stay revoked).
    Enable(LoginArgs),
    /// Set a new password (sessions end; devices stay registered).
    ResetPassword(PasswordArgs),
    /// Add users from a CSV file `login,name,role,org_unit,phone,password` (phone and password
    /// optional; an empty password is generated and printed once). Every bad line is reported
    /// and nothing is stored unless the whole file is good.
    Import(ImportArgs),
}

/// Flags of `users add`.
#[derive(Debug, Clone, Args)]
pub struct UserAddArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// Login name.
    #[arg(long)]
    pub login: String,
    /// Display name, e.g. 王芳.
    #[arg(long)]
    pub name: String,
    /// officer, department_handler, window_clerk, leader, supervisor or admin.
    #[arg(long)]
    pub role: String,
    /// The code of the user's org unit (town for officers, department for handlers …).
    #[arg(long)]
    pub org_unit: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Phone number printed on the 连心卡 of the enterprises the user is assigned to.
    #[arg(long)]
    pub phone: Option<String>,
}

/// A subcommand naming one user.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The user's login.
    pub login: String,
}

/// Flags of `users reset-password`.
#[derive(Debug, Clone, Args)]
pub struct PasswordArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The user's login.
    pub login: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `lianxin-server devices …`.
#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// List devices, most recently seen first.
    List(DevicesListArgs),
    /// Revoke a device: its next request is refused and it wipes its local data.
    Revoke(DeviceArgs),
}

/// Flags of `devices list`.
#[derive(Debug, Clone, Args)]
pub struct DevicesListArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// Only this user's devices.
    #[arg(long)]
    pub user: Option<String>,
}

/// Flags of `devices revoke`.
#[derive(Debug, Clone, Args)]
pub struct DeviceArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The device id (from `devices list`).
    pub device: String,
}

/// `lianxin-server org-units …`.
#[derive(Debug, Subcommand)]
pub enum OrgUnitsCommand {
    /// Import `code,name,kind,parent` rows; all or nothing.
    Import(ImportArgs),
    /// List org units.
    List(DbArg),
    /// Add one org unit, audit-logged.
    Add(OrgUnitAddArgs),
    /// Rename an org unit, audit-logged.
    Rename(OrgUnitRenameArgs),
    /// Put an org unit under another parent (never under itself or a unit below it),
    /// audit-logged.
    Move(OrgUnitMoveArgs),
}

/// Flags of `org-units add`.
#[derive(Debug, Args)]
pub struct OrgUnitAddArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// Its code, one word, unique (the key import files use).
    #[arg(long)]
    pub code: String,
    /// Its name, e.g. 新区街道.
    #[arg(long)]
    pub name: String,
    /// zone, town or department.
    #[arg(long)]
    pub kind: String,
    /// The parent's code (none only for the zone).
    #[arg(long)]
    pub parent: Option<String>,
}

/// Arguments of `org-units rename`.
#[derive(Debug, Args)]
pub struct OrgUnitRenameArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The unit's code.
    pub code: String,
    /// Its new name.
    pub name: String,
}

/// Arguments of `org-units move`.
#[derive(Debug, Args)]
pub struct OrgUnitMoveArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The unit's code.
    pub code: String,
    /// The code of the unit it goes under.
    #[arg(long)]
    pub parent: String,
}

/// `lianxin-server enterprises …`.
#[derive(Debug, Subcommand)]
pub enum EnterprisesCommand {
    /// Import a CSV or .xlsx file; every error is reported with its line (row) number and
    /// nothing is stored unless the whole file is good.
    Import(ImportArgs),
    /// List profiles by name (merged ones left out), with how many others share each one's
    /// credit code.
    List(EnterpriseListArgs),
    /// Show one profile: fields, position, contacts with their ids, merges.
    Show(EnterpriseIdArgs),
    /// Edit a profile (each flag given is set; contacts added or removed), audit-logged.
    Edit(EnterpriseEditArgs),
    /// Merge two profiles with the same credit code: `--absorb` goes into `--keep` with its
    /// visits, problems, contacts and assignments; it stays stored, marked merged.
    Merge(EnterpriseMergeArgs),
}

/// Flags of `enterprises list`.
#[derive(Debug, Clone, Args)]
pub struct EnterpriseListArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// Only profiles whose name, credit code or address contains this text.
    #[arg(long, default_value = "")]
    pub q: String,
    /// Only profiles whose credit code another profile shares (merge candidates).
    #[arg(long)]
    pub duplicates: bool,
    /// Also profiles merged into another.
    #[arg(long)]
    pub merged: bool,
}

/// Flags of `enterprises show`.
#[derive(Debug, Clone, Args)]
pub struct EnterpriseIdArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The profile's id (`enterprises list` prints it).
    pub id: String,
}

/// Flags of `enterprises edit`.
#[derive(Debug, Clone, Args)]
pub struct EnterpriseEditArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The district configuration the server runs with (TOML); the built-in defaults when
    /// absent.
    #[arg(long, env = "LIANXIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The profile's id.
    pub id: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// New address.
    #[arg(long)]
    pub address: Option<String>,
    /// New industry.
    #[arg(long)]
    pub industry: Option<String>,
    /// `above` or `below` (规上/规下).
    #[arg(long)]
    pub size: Option<String>,
    /// Key enterprise (重点企业): `yes` or `no`.
    #[arg(long)]
    pub key: Option<String>,
    /// Position as `LAT,LON,ACCURACY_M`.
    #[arg(long)]
    pub position: Option<String>,
    /// Add a contact, `NAME,ROLE,PHONE` (repeatable).
    #[arg(long = "add-contact")]
    pub add_contact: Vec<String>,
    /// Remove the contact with this id (repeatable; `enterprises show` prints the ids).
    #[arg(long = "remove-contact")]
    pub remove_contact: Vec<String>,
}

/// Flags of `enterprises merge`.
#[derive(Debug, Clone, Args)]
pub struct EnterpriseMergeArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The district configuration the server runs with (TOML); the built-in defaults when
    /// absent.
    #[arg(long, env = "LIANXIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The id of the profile that stays.
    #[arg(long)]
    pub keep: String,
    /// The id of the profile merged into it.
    #[arg(long)]
    pub absorb: String,
}

/// `lianxin-server assignments import FILE`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a CSV file; every error is reported with its line number and nothing is stored
    /// unless the whole file is good.
    Import(ImportArgs),
}

/// Flags of an import.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// The CSV file (UTF-8, with a header row) or .xlsx workbook (its first sheet, the same
    /// columns in its first row).
    pub file: PathBuf,
}

/// `lianxin-server config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML.
    Show(ConfigArgs),
    /// Check a configuration file; every problem is listed.
    Validate(ConfigArgs),
    /// Validate FILE and put it in place of the server's configuration file (`--config`),
    /// recording the change in the audit log; refused while a server runs on the database
    /// (the running server applies through `POST /api/admin/config` or reloads its file on
    /// SIGHUP).
    Apply(ApplyArgs),
}

/// Flags of `config apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The new configuration file (TOML).
    pub file: PathBuf,
    /// The configuration file the server starts with, which FILE replaces.
    #[arg(long, env = "LIANXIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The database (its audit log records the change).
    #[command(flatten)]
    pub db: DbArg,
}

/// Flags of `config show|validate`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A district configuration file (TOML); the built-in defaults when absent.
    #[arg(long, env = "LIANXIN_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Flags of `backup`: `backup --to FILE` copies the database now; `backup list` lists the
/// scheduled backups.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BackupArgs {
    /// `list`: the backups in the `[backup]` directory.
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The database.
    #[command(flatten)]
    pub db: DbArg,
    /// Where to write the copy.
    #[arg(long, required = true)]
    pub to: Option<PathBuf>,
}

/// `lianxin-server backup …`.
#[derive(Debug, Clone, Subcommand)]
pub enum BackupCommand {
    /// List the verified backups in the `[backup] directory` of the configuration file, oldest
    /// first (name, time taken, size, blob files, path).
    List(ConfigArgs),
}

/// Flags of `restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The database to replace.
    #[command(flatten)]
    pub db: DbArg,
    /// The backup to restore.
    #[arg(long)]
    pub from: PathBuf,
    /// Replace the file even though a server is serving it (restart that server afterwards).
    #[arg(long)]
    pub force: bool,
}

/// Flags of `lianxin-server serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: the config file's, else 127.0.0.1:8080].
    #[arg(long, env = "LIANXIN_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Folder holding the built web client (written by `cargo xtask build-client`)
    /// [default: the config file's, else target/site].
    #[arg(long, env = "LIANXIN_SITE")]
    pub site: Option<PathBuf>,

    /// The SQLite database file, created when missing, or a PostgreSQL database's URL
    /// (`postgres://user@host:port/db`, migrated at start; several servers may share it)
    /// [default: the config file's, else lianxin.db].
    #[arg(long, env = "LIANXIN_DB")]
    pub db: Option<PathBuf>,

    /// Reverse proxies whose `X-Forwarded-For` names the client: addresses or networks,
    /// comma-separated (e.g. 127.0.0.1,10.0.0.0/8) [default: the config file's, else none:
    /// the header is ignored and each connection's peer is the client].
    #[arg(long, env = "LIANXIN_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::http::client_addr::Network>,

    /// The bearer token `GET /metrics` asks for, at least 16 characters (from the environment
    /// or the config file's `[server] metrics_token`, so it stays out of the process list)
    /// [default: none: `/metrics` is off].
    #[arg(skip = std::env::var("LIANXIN_METRICS_TOKEN").ok())]
    pub metrics_token: Option<String>,

    /// A configuration file (TOML): an optional `[server]` table (listen, db, site,
    /// trusted_proxies, metrics_token, upload_daily_mb, blobs), an optional `[reminders]` table
    /// (channels, webhook, quiet hours, digest) and the district configuration, with built-in
    /// defaults for what it omits except the hotline, which it must give [default: none, and
    /// the demo district's configuration].
    #[arg(long, env = "LIANXIN_CONFIG")]
    pub config: Option<PathBuf>,

    /// Megabytes of photos one user may upload in any 24 hours [default: the config file's
    /// upload_daily_mb, else 200].
    #[arg(long, env = "LIANXIN_UPLOAD_DAILY_MB")]
    pub upload_daily_mb: Option<u64>,

    /// PostgreSQL only: the folder photos and signatures are kept in (files by SHA-256, partial
    /// uploads, thumbnails), one folder every server of the database shares (a shared mount when
    /// they run on several machines) [default: the config file's `blobs`, else none: uploads
    /// and photo reads answer 503 no_blob_folder]. On a SQLite file they are always beside it,
    /// in `<db>.blobs`, and this is refused.
    #[arg(long, env = "LIANXIN_BLOBS")]
    pub blobs: Option<PathBuf>,

    /// PostgreSQL only: seed the demo district (password lianxin-demo) into the database at
    /// start unless it holds it already (`officer1`). On a SQLite file use
    /// `lianxin-server demo --db FILE` instead.
    #[arg(long)]
    pub demo: bool,
}
