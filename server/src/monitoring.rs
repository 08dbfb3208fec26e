//! The economic-monitoring job (经济运行监测): makes sure every key enterprise has its one
//! monitoring document, created by the server's system identity so devices only ever edit a
//! document they received (two devices creating it offline would make two histories whose
//! figures hide each other's), then runs the configured rules over those documents and raises
//! one problem (source: monitoring) per anomaly, owned by the enterprise's assigned officer. A
//! problem's id comes from its anomaly, so running the job again never raises it twice.
//! Besides the hourly run, [`follow_commits`] creates a new key enterprise's document about a
//! second after the commit that made it one.

use std::sync::Arc;

use shared::config::Config;
use shared::doc::{DocError, DocKind, MonitoringDoc, ProblemDoc, RecordDoc, monitoring_id};
use shared::model::{EnterpriseId, ProblemId, Timestamp};
use shared::monitoring::{anomaly_problem, anomaly_problem_id, power_anomalies};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore;

use crate::store::{StoreError, StoreHold};
use crate::sync::SyncService;
use crate::writer::{WriteError, commit_documents, system_actor, system_actor_id};

/// Why the job failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitoringError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing a problem failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A stored document could not be read.
    #[error("reading {doc}: {error}")]
    Doc {
        /// The document.
        doc: DocId,
        /// Why.
        error: String,
    },
}

/// What one run of the job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobReport {
    /// Key enterprises whose monitoring document was created this time.
    pub created: Vec<EnterpriseId>,
    /// Problems raised this time.
    pub raised: Vec<ProblemId>,
}

/// The job the server runs at start-up and every hour: creates missing monitoring documents,
/// then runs the power rule. The store is held only for short reads and writes; loading
/// documents and running the rules happen between holds (see [`StoreHold`]).
pub fn run_job(
    mut store: impl StoreHold,
    config: &Config,
    now: Timestamp,
) -> Result<JobReport, MonitoringError> {
    let created = ensure_monitoring_documents(&mut store, config, now)?;
    let raised = run_power_rule(&mut store, config, now)?;
    Ok(JobReport { created, raised })
}

/// The time every monitoring document's creation carries: fixed, never the clock.
pub const MONITORING_CREATED_AT: Timestamp = Timestamp(0);

/// A key enterprise's new, empty monitoring document, created by the system identity. Only the
/// server calls this, and only for an enterprise that has none (see
/// [`ensure_monitoring_documents`]). Every input of the creation (actor, author message, time,
/// fields) is fixed by the enterprise alone, so creating it again (e.g. after restoring a
/// backup taken before the first creation) makes the very same change, which merges with the
/// devices' copies as nothing new rather than as a second history.
pub fn new_monitoring_document(enterprise: EnterpriseId) -> Result<(DocId, RecordDoc), DocError> {
    let doc = MonitoringDoc::create(
        enterprise,
        &system_actor(),
        system_actor_id(),
        MONITORING_CREATED_AT,
    )?;
    Ok((
        DocId::new(DocKind::Monitoring, &monitoring_id(enterprise)),
        doc.into_record(),
    ))
}

/// Creates the monitoring document of every key enterprise that has none (idempotent: an
/// enterprise with one, whoever made it, is left alone); returns the enterprises served.
pub fn ensure_monitoring_documents(
    mut store: impl StoreHold,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<EnterpriseId>, MonitoringError> {
    let missing = store.hold(|s| s.key_enterprises_without_monitoring())?;
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut docs = missing
        .iter()
        .map(|e| {
            new_monitoring_document(*e).map_err(|error| MonitoringError::Doc {
                doc: DocId::new(DocKind::Monitoring, &monitoring_id(*e)),
                error: error.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Another run creating one meanwhile made the very same change: it merges as nothing new.
    store.hold(|s| commit_documents(s, &mut docs, config, now))?;
    tracing::info!(
        documents = missing.len(),
        "created monitoring documents of key enterprises"
    );
    Ok(missing)
}

/// Follows the commits devices make and creates the monitoring document of every enterprise
/// that has become a key enterprise (a window clerk registering one, a profile edit) about a
/// second later, instead of at the next hourly run; then announces it, so online devices fetch
/// it at once. One look per burst of commits. Runs for the life of the server process.
pub async fn follow_commits(sync: Arc<SyncService>) {
    let mut commits = sync.subscribe();
    // Every commit of a burst is covered by the look below.
    while crate::sync::next_burst(&mut commits).await {
        // Another server's run looks at this burst too: it hears of the same commits.
        let Some(_run) = sync.db().job_run(crate::db::Job::MonitoringDocuments).await else {
            continue;
        };
        // The configuration running now (one applied since start included).
        let config = sync.config();
        let now = crate::auth::now();
        let looked = sync
            .db()
            .holds(move |mut store| -> Result<_, MonitoringError> {
                let created = ensure_monitoring_documents(store, &config, now)?;
                let seq = if created.is_empty() {
                    None
                } else {
                    Some(store.hold(|s| s.latest_seq())?)
                };
                Ok(seq)
            })
            .await;
        match looked {
            Some(Ok(Some(seq))) => sync.announce(seq),
            Some(Ok(None)) => {}
            Some(Err(error)) => tracing::warn!(%error, "creating monitoring documents failed"),
            None => tracing::error!(
                "creating monitoring documents did not finish: it panicked or the runtime is \
                 shutting down"
            ),
        }
    }
}

/// Runs the power rule at `now`; returns the problems it raised this time. Each monitoring
/// document is read in one hold and loaded and judged between holds; its anomalies' owners
/// and existing problems are looked up in another; the new problems are committed in a last one.
pub fn run_power_rule(
    mut store: impl StoreHold,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<ProblemId>, MonitoringError> {
    let mut new_docs = Vec::new();
    let mut raised = Vec::new();
    for id in store.hold(|s| s.doc_ids_of_kind(DocKind::Monitoring))? {
        let Some(stored) = store.hold(|s| s.load_doc(&id))? else {
            continue;
        };
        let monitoring = MonitoringDoc::load(&stored.bytes, system_actor_id())
            .and_then(|d| d.read())
            .map_err(|e| MonitoringError::Doc {
                doc: id.clone(),
                error: e.to_string(),
            })?;
        let anomalies = power_anomalies(&monitoring, &config.monitoring);
        if anomalies.is_empty() {
            continue;
        }
        // A problem's id comes from its anomaly: one raised by an earlier run exists already.
        let wanted = store.hold(|s| -> Result<Vec<_>, StoreError> {
            let mut wanted = Vec::new();
            for anomaly in &anomalies {
                // Raised by an earlier run: one primary-key lookup, no owner needed.
                let id = anomaly_problem_id(anomaly);
                let doc_id = DocId::new(DocKind::Problem, &id.to_string());
                if s.doc_heads(&doc_id)?.is_some() {
                    continue;
                }
                let Some(owner) = s.assigned_officer(anomaly.enterprise, now)? else {
                    tracing::warn!(enterprise = %anomaly.enterprise, "power anomaly without an assigned officer");
                    continue;
                };
                wanted.push((doc_id, anomaly_problem(anomaly, owner, config, now)));
            }
            Ok(wanted)
        })?;
        for (doc_id, new) in wanted {
            let problem = ProblemDoc::create(&new, config, &system_actor(), system_actor_id(), now)
                .map_err(|e| MonitoringError::Doc {
                    doc: doc_id.clone(),
                    error: e.to_string(),
                })?;
            raised.push(new.id);
            new_docs.push((doc_id, problem.into_record()));
        }
    }
    if !new_docs.is_empty() {
        store.hold(|s| commit_documents(s, &mut new_docs, config, now))?;
    }
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use shared::doc::ActorId;
    use shared::model::{Actor, ProblemSource, ProblemState};
    use shared::workflow::replay;

    use super::*;
    use crate::store::SqliteStore;
    use crate::store::test_support::demo_store;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    #[test]
    fn the_demo_creates_the_one_monitoring_document_of_each_key_enterprise_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _district) = demo_store(dir.path(), NOW);
        let created =
            ensure_monitoring_documents(&mut store, &Config::default(), NOW).expect("runs");
        assert!(created.is_empty(), "the demo left none out: {created:?}");
        // 40 enterprises, every fourth a key enterprise.
        assert_eq!(
            store
                .doc_ids_of_kind(DocKind::Monitoring)
                .expect("lists")
                .len(),
            10
        );
    }

    #[test]
    fn the_job_creates_a_missing_monitoring_document_once() {
        // A key enterprise stored the way imports did before the server created monitoring
        // documents: a profile and nothing else.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("lianxin.db")).expect("opens");
        let config = Config::default();
        let enterprise = EnterpriseId::from_random_bytes([7; 16]);
        let profile = shared::doc::NewEnterprise {
            id: enterprise,
            credit_code: shared::model::CreditCode::from_parts('9', '1', "419001", "20000001")
                .expect("a valid credit code"),
            name: "济源市恒通精密机械有限公司".into(),
            address: String::new(),
            town: shared::model::OrgUnitId::from_random_bytes([8; 16]),
            industry: "装备制造".into(),
            size: shared::model::EnterpriseSize::AboveDesignated,
            key_enterprise: true,
            position: None,
        };
        let doc =
            shared::doc::EnterpriseDoc::create(&profile, &system_actor(), system_actor_id(), NOW)
                .expect("a profile");
        commit_documents(
            &mut store,
            &mut [(
                DocId::new(DocKind::Enterprise, &enterprise.to_string()),
                doc.into_record(),
            )],
            &config,
            NOW,
        )
        .expect("stored");

        let first = run_job(&mut store, &config, NOW).expect("runs");
        assert_eq!(first.created, vec![enterprise]);
        let id = DocId::new(DocKind::Monitoring, &monitoring_id(enterprise));
        let heads = store.load_doc(&id).expect("loads").expect("created").heads;
        let again = run_job(&mut store, &config, Timestamp(NOW.0 + 3_600_000)).expect("runs");
        assert!(again.created.is_empty(), "{again:?}");
        assert_eq!(
            store.load_doc(&id).expect("loads").expect("kept").heads,
            heads,
            "the stored document is untouched"
        );
        assert_eq!(
            store.doc_ids_of_kind(DocKind::Monitoring).expect("lists"),
            vec![id]
        );
    }

    #[test]
    fn creating_a_monitoring_document_again_later_makes_the_same_change_and_merges_as_nothing_new()
    {
        let enterprise = EnterpriseId::from_random_bytes([7; 16]);
        let (_, mut first) = new_monitoring_document(enterprise).expect("created");
        // A device received the first creation and entered a figure.
        let officer = Actor {
            user: shared::model::UserId::from_random_bytes([1; 16]),
            device: shared::model::DeviceId::from_random_bytes([2; 16]),
            role: shared::model::Role::Officer,
        };
        let mut device = MonitoringDoc::load(&first.save(), ActorId::from([3; 16])).expect("loads");
        device
            .edit(&officer, NOW, |w| {
                w.record_power(
                    chrono::NaiveDate::from_ymd_opt(2026, 1, 2).expect("a day"),
                    1200.0,
                )
            })
            .expect("edited");
        // Later (the restored server had none), the job creates it again.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let (_, mut again) = new_monitoring_document(enterprise).expect("created again");
        assert_eq!(again.heads(), first.heads());
        assert_eq!(
            again.save(),
            first.save(),
            "byte for byte the same creation"
        );
        let mut device = device.into_record();
        again.merge(&mut device).expect("merges");
        let merged = MonitoringDoc::load(&again.save(), system_actor_id())
            .and_then(|d| d.read())
            .expect("reads");
        assert!(
            merged.needs_decision.is_empty(),
            "one history, not two creations: {:?}",
            merged.needs_decision
        );
        assert_eq!(merged.power.len(), 1);
    }

    #[test]
    fn the_power_rule_holds_the_store_per_document_never_across_loading_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, _district) = demo_store(dir.path(), NOW);
        let store = std::sync::Mutex::new(store);
        let mut lock = crate::store::test_support::CountedLock {
            store: &store,
            holds: 0,
        };
        let raised = run_power_rule(&mut lock, &Config::default(), NOW).expect("runs");
        assert_eq!(raised.len(), 5, "{raised:?}");
        // One hold lists the 10 monitoring documents, one reads each, one looks up the owner
        // and problem of each of the 5 with an anomaly, one commits: each document is loaded
        // and judged between holds.
        assert_eq!(lock.holds, 1 + 10 + 5 + 1);
    }

    #[test]
    fn a_power_anomaly_raises_exactly_one_problem_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let raised = run_power_rule(&mut store, &config, NOW).expect("runs");
        // The demo dips the power of every eighth enterprise (all key enterprises) for 4 days.
        assert_eq!(raised.len(), 5, "{raised:?}");
        for id in &raised {
            let stored = store
                .load_doc(&DocId::new(DocKind::Problem, &id.to_string()))
                .expect("loads")
                .expect("stored");
            let p = ProblemDoc::load(&stored.bytes, system_actor_id())
                .expect("a problem")
                .read()
                .expect("reads");
            assert_eq!(p.source, ProblemSource::Monitoring);
            assert_eq!(replay(&p).state, ProblemState::Submitted);
            assert!(p.description.contains("电量监测异常"));
        }
        let again =
            run_power_rule(&mut store, &config, Timestamp(NOW.0 + 3_600_000)).expect("runs");
        assert!(again.is_empty(), "running again raises nothing: {again:?}");
        assert_eq!(
            store
                .problem_count_from(ProblemSource::Monitoring)
                .expect("counts"),
            5
        );
    }
}
