//! The directory: what a person may read and write, the org units and people the directory
//! lists, a person's own devices (their tokens: [`super::Tokens`]), and the administrator's
//! day-one changes to people and devices (revoke a lost phone, disable a leaver, enable them
//! again, reset a forgotten password), each one transaction with its audit entry naming the
//! acting administrator.

use std::collections::BTreeSet;

use shared::model::{DeviceId, OrgUnitId, Timestamp, User, UserId};

use super::DbFuture;
use crate::auth::scope::Access;
use crate::store::{AdminDevice, Device, OrgUnitEntry, OwnDevice, PasswordHash, UserRecord};

/// What the HTTP layer needs from the directory. Rules (may this person see that unit) are the
/// caller's; this answers the facts they are judged on.
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// What `device` of `user` may read and write at `now` (`auth::access_for`, the rule sync
    /// uses, over this directory's assignments and units).
    fn access(&self, user: User, device: Device, now: Timestamp) -> DbFuture<'_, Access>;

    /// The org unit `id`, if it exists.
    fn org_unit(&self, id: OrgUnitId) -> DbFuture<'_, Option<OrgUnitEntry>>;

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
}
