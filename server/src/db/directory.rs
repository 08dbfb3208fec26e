//! The directory: what a person may read and write, the org units and people the directory
//! lists, and a person's own devices (their tokens: [`super::Tokens`]).

use std::collections::BTreeSet;

use shared::model::{DeviceId, OrgUnitId, Timestamp, User, UserId};

use super::DbFuture;
use crate::auth::scope::Access;
use crate::store::{Device, OrgUnitEntry, OwnDevice, UserRecord};

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
}
