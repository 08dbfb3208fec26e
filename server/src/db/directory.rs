//! The directory: what a person may read and write, the org units and people the directory
//! lists, a person's own devices (their tokens: [`super::Tokens`]), and the administrator's
//! day-one changes to people and devices (add people, one or a file's, import assignments,
//! revoke a lost phone, disable a leaver, enable them again, reset a forgotten password), each
//! one transaction with its audit entries naming the acting administrator.

use std::collections::{BTreeMap, BTreeSet};

use shared::model::{Assignment, DeviceId, EnterpriseId, OrgUnitId, Timestamp, User, UserId};

use super::DbFuture;
use crate::auth::scope::Access;
use crate::store::{
    AdminDevice, Device, ImportedUser, OrgUnitEdit, OrgUnitEntry, OrgUnitImport, OwnDevice,
    PasswordHash, UserRecord,
};

/// What the HTTP layer needs from the directory. Rules (may this person see that unit) are the
/// caller's; this answers the facts they are judged on.
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// What `device` of `user` may read and write at `now` (`auth::access_for`, the rule sync
    /// uses, over this directory's assignments and units).
    fn access(&self, user: User, device: Device, now: Timestamp) -> DbFuture<'_, Access>;

    /// The org unit `id`, if it exists.
    fn org_unit(&self, id: OrgUnitId) -> DbFuture<'_, Option<OrgUnitEntry>>;

    /// The org unit whose CSV code is `code`, if it exists.
    fn org_unit_by_code(&self, code: String) -> DbFuture<'_, Option<OrgUnitEntry>>;

    /// The unit `root` and every unit under it.
    fn org_subtree(&self, root: OrgUnitId) -> DbFuture<'_, BTreeSet<OrgUnitId>>;

    /// The person whose login is `login`, if any (a disabled one too).
    fn user_by_login(&self, login: String) -> DbFuture<'_, Option<UserRecord>>;

    /// Every org unit and every user, read together (`GET /api/directory`).
    fn listing(&self) -> DbFuture<'_, (Vec<OrgUnitEntry>, Vec<UserRecord>)>;

    /// `user`'s devices, most recently seen first.
    fn own_devices(&self, user: UserId) -> DbFuture<'_, Vec<OwnDevice>>;

    /// Revokes `user`'s own `device` with its audit entry (`detail`); `NotFound` if the
    /// device is not theirs.
    fn revoke_own_device(
        &self,
        user: UserId,
        device: DeviceId,
        now: Timestamp,
        detail: String,
    ) -> DbFuture<'_, ()>;

    /// Every device for the administrator's list, with its person's login, its last sync and
    /// the unsent documents it last reported, most recently seen first.
    fn admin_devices(&self) -> DbFuture<'_, Vec<AdminDevice>>;

    /// Revokes device `id` and its tokens, audited as `actor`'s; revoking a revoked device
    /// changes nothing but the log. `NotFound` for an unknown device.
    fn revoke_device(&self, id: DeviceId, now: Timestamp, actor: String) -> DbFuture<'_, ()>;

    /// Disables `login`: no more logins, every device of theirs revoked with its tokens,
    /// audited as `actor`'s. Returns the devices it revoked; `NotFound` for an unknown login.
    fn disable_user(
        &self,
        login: String,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, Vec<DeviceId>>;

    /// Enables `login` again (their revoked devices stay revoked), audited as `actor`'s;
    /// `NotFound` for an unknown login.
    fn enable_user(&self, login: String, now: Timestamp, actor: String) -> DbFuture<'_, ()>;

    /// Sets `login`'s password hash (an administrator's reset) and revokes their devices'
    /// tokens, audited as `actor`'s. Returns their devices, whose sessions ended; `NotFound`
    /// for an unknown login.
    fn reset_password(
        &self,
        login: String,
        hash: PasswordHash,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, Vec<DeviceId>>;

    /// Adds `people` (one the administrator added, or a file's), each with their phone number
    /// and their `user_added` audit entry (its detail given) naming `actor`, then for an import
    /// (`import`: its subject and detail) one `imported` entry, all in one transaction:
    /// everyone and every entry, or nothing. `Duplicate` when a login is taken (by a person
    /// stored, or one added before it in `people`); `NotFound` for an org unit that does not
    /// exist.
    fn add_people(
        &self,
        people: Vec<ImportedUser>,
        now: Timestamp,
        actor: String,
        import: Option<(String, String)>,
    ) -> DbFuture<'_, ()>;

    /// The enterprise profiles (not merged into another) whose credit codes are among
    /// `codes`, by credit code; where several share one, the smallest id (in byte order).
    fn enterprises_by_credit_code(
        &self,
        codes: Vec<String>,
    ) -> DbFuture<'_, BTreeMap<String, EnterpriseId>>;

    /// Adds `rows` (an administrator's import) with the import's `imported` audit entry
    /// naming `subject` with `detail`, as `actor`'s, in one transaction: all or nothing.
    /// `Invalid` for a period that ends before it starts.
    fn import_assignments(
        &self,
        rows: Vec<Assignment>,
        now: Timestamp,
        actor: String,
        subject: String,
        detail: String,
    ) -> DbFuture<'_, ()>;

    /// Ends every open assignment of `enterprise` at `now`, with its `assignment_ended` audit
    /// entry naming `actor` and the logins whose assignment ended, in one transaction.
    /// Returns those users; `NotFound` when it has none.
    fn end_assignments(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, BTreeSet<UserId>>;

    /// Moves `enterprise` to `to` at `now` from the assignee `crate::store::moved_from` picks
    /// among its open ones (`from` when given), with its `assignment_moved` audit entry naming
    /// `actor`, in one transaction. Two moves of one enterprise at once leave one current
    /// assignment: the later finds the earlier's (PostgreSQL locks the enterprise's current
    /// assignment rows `FOR UPDATE` first). Errors as `moved_from`; `NotFound` for an
    /// unknown `to`.
    fn move_assignment(
        &self,
        enterprise: EnterpriseId,
        from: Option<UserId>,
        to: UserId,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, ()>;

    /// An administrator's change to one org unit (`edit`: add, rename, move), judged by
    /// `crate::store::org_unit_rules::decide` over the units as they are inside its
    /// transaction and written there with its audit entry naming `actor`; the unit as it is
    /// after. Two changes at once on two servers are judged one after the other (PostgreSQL
    /// locks the org units against other changes first). Errors as `decide`.
    fn edit_org_unit(
        &self,
        edit: OrgUnitEdit,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, OrgUnitEntry>;

    /// Adds or updates an import's org units (`rows`, checked line by line before) with the
    /// import's `imported` audit entry naming `subject` with `detail`, as `actor`'s, in one
    /// transaction: all or nothing. The rows are checked again over the units as stored then:
    /// `Invalid` for a cycle, `NotFound` for an unknown parent.
    fn import_org_units(
        &self,
        rows: Vec<OrgUnitImport>,
        now: Timestamp,
        actor: String,
        subject: String,
        detail: String,
    ) -> DbFuture<'_, ()>;
}
