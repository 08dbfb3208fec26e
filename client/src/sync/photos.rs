//! Photos follow the records: after each successful sync round the device asks `photos.js`
//! to upload the stored photos (and the enterprise's signatures, stored like photos) of the
//! records the server has (records with changes waiting
//! are left until they are taken, since the server accepts only photos a record references),
//! with the session's token. Documents always go first; photos never hold them up. Until the
//! server has them they hold back a logout like unsent changes (`unsent_photos`).

use shared::doc::DocKind;
use shared::sync::protocol::DocId;

use super::Core;
use crate::infra::photos;

impl Core {
    /// Starts (or re-aims) the background upload of this device's photos.
    pub(super) fn upload_photos(&self) {
        let Some(session) = self.session() else {
            return;
        };
        let pending = match self.engine.borrow_mut().as_mut() {
            Some(engine) => engine.replica_mut().pending(),
            None => return,
        };
        let snapshot = self.snapshot();
        let mut hashes = String::new();
        let mut add = |kind, id: String, list: Vec<&str>| {
            if !list.is_empty() && !pending.contains(&DocId::new(kind, &id)) {
                for h in list {
                    hashes.push_str(h);
                    hashes.push(' ');
                }
            }
        };
        for v in &snapshot.visits {
            add(DocKind::Visit, v.id.to_string(), v.blob_hashes());
        }
        for p in &snapshot.problems {
            add(DocKind::Problem, p.id.to_string(), p.blob_hashes());
        }
        photos::upload(&session.token, &hashes);
    }

    /// How many photos of the records on this device the server has not taken yet (a logout
    /// or another person's login would delete them).
    pub async fn unsent_photos(&self) -> usize {
        let snapshot = self.snapshot();
        let mut hashes = String::new();
        let visits = snapshot.visits.iter().map(|v| v.blob_hashes());
        for list in visits.chain(snapshot.problems.iter().map(|p| p.blob_hashes())) {
            for h in list {
                hashes.push_str(h);
                hashes.push(' ');
            }
        }
        if hashes.is_empty() {
            return 0;
        }
        photos::unsent(&hashes).await
    }
}
