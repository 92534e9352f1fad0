//! FHIR input: one resource or Bundle as JSON, or several as NDJSON (or
//! simply one after the other). R4 is passed on as it is, compacted; STU3 is
//! converted to R4 first, with the converter's warnings.

use std::fmt::Write as _;

use serde_json::Value;
use zorgpoort_model::{Origin, Warning};

use crate::{Converted, Error};

/// Why FHIR input could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct FhirError {
    /// 1-based line of the input.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Why.
    pub reason: String,
}

/// The FHIR version of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// 4.0.1, passed on.
    R4,
    /// 3.0.2, converted to R4.
    Stu3,
}

/// Each resource of the input; reading stops at the first that is not JSON,
/// since the place where the next one starts is then unknown. A leading
/// byte order mark, as Windows tools write it, is not content.
pub(crate) fn resources(input: &[u8], version: Version) -> Result<Vec<Result<Converted, Error>>, Error> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut stream = serde_json::Deserializer::from_slice(input).into_iter::<Value>();
    let mut converted = Vec::new();
    loop {
        let line = line_at(input, stream.byte_offset());
        match stream.next() {
            None => break,
            Some(Ok(value)) => converted.push(match version {
                Version::R4 => resource(&value, line, Vec::new()),
                Version::Stu3 => stu3_resource(&value, line),
            }),
            Some(Err(error)) => {
                let text = error.to_string();
                // The position is in the error's own fields already.
                let reason = text
                    .rsplit_once(" at line ")
                    .map_or(text.as_str(), |(reason, _)| reason);
                converted.push(Err(FhirError {
                    line: error.line(),
                    column: error.column(),
                    reason: format!("not JSON: {reason}"),
                }
                .into()));
                break;
            }
        }
    }
    if converted.is_empty() {
        return Err(FhirError {
            line: 1,
            column: 1,
            reason: "no FHIR resource in the input".into(),
        }
        .into());
    }
    Ok(converted)
}

/// The 1-based line where the value after `offset` starts (past the
/// whitespace that separates values).
fn line_at(input: &[u8], offset: usize) -> usize {
    let rest = &input[offset.min(input.len())..];
    let start = offset + rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
    input[..start.min(input.len())].split(|&b| b == b'\n').count()
}

/// An STU3 resource converted to R4; a resource the converter cannot read
/// is an error at its line, with the element path in the reason.
fn stu3_resource(value: &Value, line: usize) -> Result<Converted, Error> {
    if value.get("resourceType").and_then(Value::as_str).is_none() {
        return resource(value, line, Vec::new());
    }
    let converted = zorgpoort_stu3::to_r4(value).map_err(|e| FhirError {
        line,
        column: 1,
        reason: format!("STU3 to R4: {e}"),
    })?;
    resource(&converted.resource, line, converted.warnings)
}

fn resource(value: &Value, line: usize, warnings: Vec<Warning>) -> Result<Converted, Error> {
    let Some(resource_type) = value.get("resourceType").and_then(Value::as_str) else {
        return Err(FhirError {
            line,
            column: 1,
            reason: "not a FHIR resource: no resourceType".into(),
        }
        .into());
    };
    let bundle = value.to_string();
    let sender = value
        .pointer("/meta/source")
        .and_then(Value::as_str)
        .unwrap_or("fhir")
        .to_owned();
    let message_id = value
        .pointer("/identifier/value")
        .or_else(|| value.get("id"))
        .and_then(Value::as_str)
        .map_or_else(|| content_hash(&bundle), str::to_owned);
    let event = match value.get("type").and_then(Value::as_str) {
        Some(kind) if resource_type == "Bundle" => format!("FHIR^Bundle^{kind}"),
        _ => format!("FHIR^{resource_type}"),
    };
    Ok(Converted {
        bundle,
        warnings,
        origin: Origin {
            sender,
            message_id,
            event,
        },
    })
}

/// FNV-1a over the resource: the same resource is recognised when sent again.
fn content_hash(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut id = String::with_capacity(16);
    let _ = write!(id, "{hash:016x}");
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_not_content() {
        let input = b"\xEF\xBB\xBF{\"resourceType\":\"Patient\"}\n{\"resourceType\":\"Patient\"}";
        let read = resources(input, Version::R4).unwrap();
        assert_eq!(read.len(), 2);
        assert!(read.iter().all(Result::is_ok));
    }

    #[test]
    fn reads_one_resource_or_ndjson() {
        let one = resources(
            b"{\n  \"resourceType\": \"Patient\",\n  \"id\": \"p1\"\n}\n",
            Version::R4,
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        let patient = one[0].as_ref().unwrap();
        assert_eq!(patient.bundle, r#"{"id":"p1","resourceType":"Patient"}"#);
        assert_eq!(patient.origin.event, "FHIR^Patient");
        assert_eq!(patient.origin.message_id, "p1");

        let many = resources(
            b"{\"resourceType\":\"Bundle\",\"type\":\"transaction\"}\n{\"resourceType\":\"Patient\"}\n",
            Version::R4,
        )
        .unwrap();
        assert_eq!(many.len(), 2);
        assert_eq!(many[0].as_ref().unwrap().origin.event, "FHIR^Bundle^transaction");
        assert_eq!(many[1].as_ref().unwrap().origin.message_id.len(), 16);
    }

    #[test]
    fn says_where_the_input_is_wrong() {
        let results = resources(
            b"{\"resourceType\":\"Patient\"}\n{\"id\":\"x\"}\n{\"resourceType\":",
            Version::R4,
        )
        .unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[1].as_ref().unwrap_err().to_string(),
            "line 2, column 1: not a FHIR resource: no resourceType"
        );
        assert_eq!(
            results[2].as_ref().unwrap_err().to_string(),
            "line 3, column 16: not JSON: EOF while parsing a value"
        );
        assert!(resources(b"  \n", Version::R4).is_err());
    }
}
