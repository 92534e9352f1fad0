//! HL7 v2 for zorgpoort: a zero-copy ER7 parser, stream splitting with MLLP
//! framing bytes, an ER7 writer, ACKs, the mapping of v2 messages to FHIR
//! R4 transaction Bundles following the HL7 v2-to-FHIR maps adapted to the
//! Dutch nl-core (zib2020) profiles, and the way back ([`from_fhir`]: FHIR R4
//! to ADT^A01/A03/A04/A08 and ORU^R01 in v2.5.1) for receivers that only take v2.
//!
//! Nothing here does I/O: bytes in, [`Message`] or [`zorgpoort_model::Conversion`]
//! out; or FHIR JSON in, ER7 text out.

pub mod ack;
pub mod error;
mod escape;
pub mod framing;
mod from_fhir;
mod map;
pub mod message;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod types;
pub mod write;

pub use ack::{AckCode, AckRequest, ack, ack_unparsed};
pub use error::{Error, ErrorKind, Location, SegmentId};
pub use escape::encode as escape_text;
pub use framing::{Frame, MllpDecoder, MllpItem, Splitter};
pub use from_fhir::{FromFhir, FromFhirError, FromFhirErrorKind, FromFhirOptions, from_fhir, read_ack};
pub use map::{LocalCodeSystems, Options, RoutingFacts, routing_facts, to_fhir};
pub use message::{Charset, Delimiters, Item, Limits, Message, Segment};
pub use write::{Er7Message, Er7Segment};
