//! Where connections arrive: HTTP ([`http`]) and MLLP ([`mllp`]), each
//! optionally over TLS ([`tls`], which also names the peer's organisation
//! under mutual TLS). A listener knows sockets, framing and peers; what a
//! request or message then meets is [`crate::router`]'s and
//! [`crate::intake`]'s business.

pub mod http;
pub mod mllp;
pub mod tls;
