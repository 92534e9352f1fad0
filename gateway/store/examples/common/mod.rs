//! What the audit examples share: the same delivery event appended by many
//! concurrent writers, as a busy gateway appends them.

use zorgpoort_audit::{Action, AuditEvent, DataObject, Outcome};
use zorgpoort_store::{SqliteStore, Store};

/// Appends `total` delivery events to `store` from `writers` concurrent tasks.
pub async fn append_events(store: &SqliteStore, total: usize, writers: usize) {
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (w..total).step_by(writers) {
                    let mut event = AuditEvent::new("deliver", Action::Execute, 1_764_064_800_000, Outcome::Success);
                    event.organization = Some("de-linde".into());
                    event.patient = Some("999911120".into());
                    event.purpose = Some("TREAT");
                    event.data = Some(DataObject {
                        id: format!("m{n}"),
                        format: "hl7v2".into(),
                        sha256: "0".repeat(64),
                        size: 1_500,
                        categories: vec!["general".into(), "lab".into()],
                    });
                    store.audit(event).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}
