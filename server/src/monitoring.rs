//! The economic-monitoring job (经济运行监测): runs the configured rules over every key
//! enterprise's monitoring document and raises one problem (source: monitoring) per anomaly,
//! owned by the enterprise's assigned officer. A problem's id comes from its anomaly, so
//! running the job again never raises it twice.

use shared::config::Config;
use shared::doc::{DocKind, MonitoringDoc, ProblemDoc};
use shared::model::{ProblemId, Timestamp};
use shared::monitoring::{anomaly_problem, power_anomalies};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore;

use crate::store::{SqliteStore, StoreError};
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

/// Runs the power rule at `now`; returns the problems it raised this time.
pub fn run_power_rule(
    store: &mut SqliteStore,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<ProblemId>, MonitoringError> {
    let mut new_docs = Vec::new();
    let mut raised = Vec::new();
    for id in store.doc_ids_of_kind(DocKind::Monitoring)? {
        let Some(stored) = store.load_doc(&id)? else {
            continue;
        };
        let monitoring = MonitoringDoc::load(&stored.bytes, system_actor_id())
            .and_then(|d| d.read())
            .map_err(|e| MonitoringError::Doc {
                doc: id.clone(),
                error: e.to_string(),
            })?;
        for anomaly in power_anomalies(&monitoring, &config.monitoring) {
            let Some(owner) = store.assigned_officer(anomaly.enterprise, now)? else {
                tracing::warn!(enterprise = %anomaly.enterprise, "power anomaly without an assigned officer");
                continue;
            };
            let new = anomaly_problem(&anomaly, owner, config, now);
            let doc_id = DocId::new(DocKind::Problem, &new.id.to_string());
            if store.load_doc(&doc_id)?.is_some() {
                continue;
            }
            let problem = ProblemDoc::create(&new, config, &system_actor(), system_actor_id(), now)
                .map_err(|e| MonitoringError::Doc {
                    doc: doc_id.clone(),
                    error: e.to_string(),
                })?;
            raised.push(new.id);
            new_docs.push((doc_id, problem.into_record()));
        }
    }
    commit_documents(store, &mut new_docs, config, now)?;
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use shared::model::{ProblemSource, ProblemState};
    use shared::workflow::replay;

    use super::*;
    use crate::store::test_support::demo_store;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

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
