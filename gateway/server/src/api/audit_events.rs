//! `GET /fhir/AuditEvent?patient=[system|]BSN&date=geYYYY-MM-DD&date=ltYYYY-MM-DD`:
//! the audit log, for organisations registered as audit readers
//! (`audit_reader = true`) only. The read is itself audited.

use axum::extract::{Query, Request, State};

use axum::response::Response;
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_model::datatypes::day_start_ms;
use zorgpoort_store::Store;

use crate::api::AppState;
use crate::api::consents::bsn_of;
use crate::auth::AuditReader;
use crate::outcome::{ApiError, searchset};

/// `GET /fhir/AuditEvent`.
pub async fn search<S: Store>(
    State(state): State<AppState<S>>,
    AuditReader(reader): AuditReader,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut patient, mut since, mut until) = (None, i64::MIN, i64::MAX);
    // A list, not a map: `date` may come twice (a range).
    let Query(parameters) = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
        .map_err(|e| ApiError::invalid("query", format!("not a valid query string: {e}")))?;
    for (key, value) in parameters {
        match key.as_str() {
            "patient" => {
                patient = Some(bsn_of(&value).to_owned());
            }
            "date" => {
                let (prefix, date) = if value.len() > 10 {
                    value.split_at(2)
                } else {
                    ("eq", value.as_str())
                };
                let start = day_start_ms(date).ok_or_else(|| {
                    ApiError::invalid("date", format!("use [ge|gt|le|lt|eq]YYYY-MM-DD, not {value:?}"))
                })?;
                let next = start + 86_400_000;
                match prefix {
                    "ge" => since = since.max(start),
                    "gt" => since = since.max(next),
                    "le" => until = until.min(next),
                    "lt" => until = until.min(start),
                    "eq" => (since, until) = (since.max(start), until.min(next)),
                    _ => return Err(ApiError::invalid("date", format!("unknown prefix {prefix:?}"))),
                }
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    format!("unknown search parameter {other:?}; use patient and date"),
                ));
            }
        }
    }
    let Some(patient) = patient else {
        return Err(ApiError::invalid("patient", "search by patient (the BSN) is required"));
    };
    let records = state.store.audit_log(since, until, Some(&patient)).await?;
    let mut read = AuditEvent::new("read-audit-log", Action::Read, now_ms(), Outcome::Success);
    read.organization = Some(reader.organization);
    read.patient = Some(patient);
    state.store.audit(read).await?;
    Ok(searchset(records.iter().map(|r| r.event.as_str())))
}
