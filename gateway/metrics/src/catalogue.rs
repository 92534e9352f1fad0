//! Every metric the gateway exports. docs/operations.md ("Monitoring")
//! lists the same set; a test keeps the two in step.

use crate::{Kind, Metric};

/// HTTP requests answered.
pub static HTTP_REQUESTS: Metric = Metric {
    name: "zorgpoort_http_requests_total",
    kind: Kind::Counter,
    labels: &["route", "status"],
    help: "HTTP requests answered, by matched route and status.",
};

/// Time to answer an HTTP request.
pub static HTTP_SECONDS: Metric = Metric {
    name: "zorgpoort_http_request_seconds",
    kind: Kind::Histogram,
    labels: &["route"],
    help: "Time from a request's arrival at its route to the response head, by matched route.",
};

/// Requests shed or cut off.
pub static HTTP_REJECTED: Metric = Metric {
    name: "zorgpoort_http_rejected_total",
    kind: Kind::Counter,
    labels: &["reason"],
    help: "HTTP requests shed at the concurrency limit (overload) or cut at the request timeout (timeout).",
};

/// HL7 v2 messages taken over MLLP.
pub static MLLP_MESSAGES: Metric = Metric {
    name: "zorgpoort_mllp_messages_total",
    kind: Kind::Counter,
    labels: &["ack"],
    help: "HL7 v2 messages received over MLLP, by the ACK they got (AA, AE, AR).",
};

/// Time from a whole MLLP frame to its ACK.
pub static MLLP_ACK_SECONDS: Metric = Metric {
    name: "zorgpoort_mllp_ack_seconds",
    kind: Kind::Histogram,
    labels: &["ack"],
    help: "Time from a complete MLLP frame to its ACK (parsed, converted, validated, stored durably), by ACK code.",
};

/// MLLP connections refused at the cap.
pub static MLLP_CONNECTIONS_REFUSED: Metric = Metric {
    name: "zorgpoort_mllp_connections_refused_total",
    kind: Kind::Counter,
    labels: &[],
    help: "MLLP connections closed at server.mllp_max_connections.",
};

/// Messages accepted over `POST /messages/{format}`.
pub static MESSAGES_ACCEPTED: Metric = Metric {
    name: "zorgpoort_messages_accepted_total",
    kind: Kind::Counter,
    labels: &["format", "duplicate"],
    help: "Messages accepted over POST /messages/{format}, by format and whether they were resends.",
};

/// Time for the store to make a write durable.
pub static STORE_WRITE_SECONDS: Metric = Metric {
    name: "zorgpoort_store_write_seconds",
    kind: Kind::Histogram,
    labels: &["operation"],
    help: "Time from handing a write to the store to its commit (accept: a message with its deliveries; audit: an audit record).",
};

/// Validations against nl-core.
pub static VALIDATIONS: Metric = Metric {
    name: "zorgpoort_validations_total",
    kind: Kind::Counter,
    labels: &["source", "result"],
    help: "Resources checked against nl-core, by source (conversion, supplied) and result (conformant, nonconformant, skipped: not in the sample).",
};

/// Time to validate.
pub static VALIDATION_SECONDS: Metric = Metric {
    name: "zorgpoort_validation_seconds",
    kind: Kind::Histogram,
    labels: &["source"],
    help: "Time to check one resource or Bundle against the R4 schema and the nl-core profiles.",
};

/// Delivery attempts.
pub static DELIVERY_SECONDS: Metric = Metric {
    name: "zorgpoort_delivery_seconds",
    kind: Kind::Histogram,
    labels: &["receiver", "outcome"],
    help: "Time of one delivery attempt (consent check, rendering, sending), by receiver and outcome (delivered, retry, dead, withheld).",
};

/// Stored HL7 v2 messages made into Bundles: kept from intake or made again.
pub static RENDERS: Metric = Metric {
    name: "zorgpoort_renders_total",
    kind: Kind::Counter,
    labels: &["bundle"],
    help: "Stored HL7 v2 messages made into a FHIR Bundle (for delivery, a handover, BgZ, a read), by where the Bundle came from: kept (made at intake) or converted (again).",
};

/// Deliveries not (yet) delivered.
pub static DELIVERIES: Metric = Metric {
    name: "zorgpoort_deliveries",
    kind: Kind::Gauge,
    labels: &["receiver", "state"],
    help: "Deliveries that are not delivered, by receiver and state: pending (queue depth), dead (dead letters), withheld (by consent).",
};

/// Every metric, in the order of docs/operations.md.
pub static ALL: [&Metric; 13] = [
    &HTTP_REQUESTS,
    &HTTP_SECONDS,
    &HTTP_REJECTED,
    &MLLP_MESSAGES,
    &MLLP_ACK_SECONDS,
    &MLLP_CONNECTIONS_REFUSED,
    &MESSAGES_ACCEPTED,
    &STORE_WRITE_SECONDS,
    &VALIDATIONS,
    &VALIDATION_SECONDS,
    &DELIVERY_SECONDS,
    &RENDERS,
    &DELIVERIES,
];
