//! HL7 v2 for zorgpoort: a zero-copy ER7 parser, stream splitting with MLLP
//! framing bytes, an ER7 writer, ACKs, and the mapping of v2 messages to FHIR
//! R4 transaction Bundles following the HL7 v2-to-FHIR maps adapted to the
//! Dutch nl-core (zib2020) profiles.
//!
//! Nothing here does I/O: bytes in, [`Message`] or [`zorgpoort_model::Conversion`] out.

pub mod ack;
pub mod error;
mod escape;
pub mod framing;
mod map;
pub mod message;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod types;
pub mod write;

pub use ack::{AckCode, AckRequest, ack, ack_unparsed};
pub use error::{Error, ErrorKind, Location, SegmentId};
pub use escape::encode as escape_text;
pub use framing::{Frame, Splitter};
pub use map::{Options, RoutingFacts, routing_facts, to_fhir};
pub use message::{Charset, Delimiters, Item, Limits, Message, Segment};
pub use write::{Er7Message, Er7Segment};
