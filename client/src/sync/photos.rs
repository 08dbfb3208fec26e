//! Photos follow the records: after each successful sync round the device asks `photos.js`
//! to upload the stored photos (and the enterprise's signatures) of the records the server
//! has (records with changes waiting are left until they are taken, since the server accepts
//! only blobs a record references), with the session's token. Documents always go first;
//! photos never hold them up. Until the server has them, they hold back a logout like
//! unsent changes (`unsent_photos`).

use shared::doc::DocKind;
use shared::sync::protocol::DocId;

use super::Core;
use crate::infra::photos;

impl Core {
    /// Every record on the device with the blobs it references (photos, signatures).
    fn records_with_blobs(&self) -> Vec<(DocId, Vec<String>)> {
        let snapshot = self.snapshot();
        let own = |list: Vec<&str>| list.into_iter().map(str::to_string).collect::<Vec<_>>();
        let visits = snapshot.visits.iter().map(|v| {
            (
                DocId::new(DocKind::Visit, &v.id.to_string()),
                own(v.blob_hashes()),
            )
        });
        let problems = snapshot.problems.iter().map(|p| {
            let id = DocId::new(DocKind::Problem, &p.id.to_string());
            (id, own(p.blob_hashes()))
        });
        visits
            .chain(problems)
            .filter(|(_, list)| !list.is_empty())
            .collect()
    }

    /// Starts (or re-aims) the background upload of this device's photos.
    pub(super) fn upload_photos(&self) {
        let Some(session) = self.session() else {
            return;
        };
        let pending = match self.engine.borrow_mut().as_mut() {
            Some(engine) => engine.replica_mut().pending(),
            None => return,
        };
        let mut hashes = String::new();
        for (id, list) in self.records_with_blobs() {
            if !pending.contains(&id) {
                for h in list {
                    hashes.push_str(&h);
                    hashes.push(' ');
                }
            }
        }
        photos::upload(&session.token, &hashes);
    }

    /// The records whose photos or signatures are on this device only (the server has not
    /// taken them), each with how many: a logout or another person's login would lose them.
    pub async fn unsent_photos(&self) -> Vec<(DocId, usize)> {
        let records = self.records_with_blobs();
        let all: Vec<&str> = records
            .iter()
            .flat_map(|(_, list)| list.iter().map(String::as_str))
            .collect();
        if all.is_empty() {
            return Vec::new();
        }
        let unsent = photos::unsent(&all.join(" ")).await;
        records
            .into_iter()
            .map(|(id, list)| (id, list.iter().filter(|h| unsent.contains(*h)).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
