//! The handover (交接): a phone that will never reach the server again exports every record
//! the server has not taken — waiting or refused — to a file signed with the device's secret
//! ([`shared::sync::handover`]), which IT imports with `lianxin-server handover import`. The
//! officer may then log out. The export remembers what it covered: logging out after it is
//! allowed only while nothing has changed since (a later edit needs a new export).

use std::rc::Rc;

use shared::sync::handover::{self, Handover};
use shared::sync::protocol::{DocId, DocPush, Hash};

use super::Core;
use crate::infra::platform;

/// What a handover file carried: each record with the heads it was exported at.
pub(super) type Covered = Vec<(DocId, Vec<Hash>)>;

/// A handover file, ready to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HandoverExport {
    /// The name it is saved under.
    pub filename: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// How many records it carries.
    pub records: usize,
}

fn covered(push: &[DocPush]) -> Covered {
    push.iter()
        .map(|p| (p.doc.clone(), p.heads.clone()))
        .collect()
}

impl Core {
    /// The handover file of every record the server has not taken, signed with this device's
    /// secret; `None` without a session or with nothing to hand over.
    pub fn export_handover(&self) -> Option<HandoverExport> {
        let session = self.session()?;
        let push = self.engine.borrow_mut().as_mut()?.handover_pushes();
        if push.is_empty() {
            return None;
        }
        let now = platform::now();
        *self.handed_over.borrow_mut() = Some(covered(&push));
        let records = push.len();
        let file = Handover {
            device: session.device.id,
            user: session.user.id,
            created_at: now,
            push,
        };
        let bytes = handover::write(&file, &self.secret.borrow());
        Some(HandoverExport {
            filename: format!(
                "lianxin-handover-{}-{}.lxh",
                session.login,
                platform::format_date(now)
            ),
            bytes,
            records,
        })
    }

    /// Logs out after a handover: refused (with how many records wait) unless the last
    /// export covered every record the server has not taken, at the heads they have now.
    pub async fn log_out_handed_over(self: &Rc<Self>) -> Result<(), usize> {
        let now = self
            .engine
            .borrow_mut()
            .as_mut()
            .map(|e| covered(&e.handover_pushes()));
        let done = matches!((now, self.handed_over.borrow().as_ref()), (Some(now), Some(then)) if now == *then);
        if !done {
            return Err(self.unsynced());
        }
        *self.handed_over.borrow_mut() = None;
        self.end_and_log_out().await;
        Ok(())
    }
}
