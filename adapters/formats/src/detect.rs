//! Telling formats apart by their first bytes, for `--from auto`.

use crate::Format;

/// How far into the input XML is searched for its root element.
const XML_HEAD_BYTES: usize = 4096;

/// What [`detect`] recognises, for error messages.
pub(crate) fn described() -> &'static str {
    "HL7 v2 (MSH, FHS or BHS), EDIFACT (UNA or UNB), a CDA document (ClinicalDocument in urn:hl7-org:v3), \
     FHIR JSON (resourceType) or a nursing-home export in a built-in layout"
}

/// The format of an input, from its start (a few KB are enough, except for
/// nursing-home exports, whose header row or keys are compared with the
/// built-in mappings).
pub fn detect(input: &[u8]) -> Option<Format> {
    let unmarked = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let start = unmarked
        .iter()
        .position(|b| !(b.is_ascii_whitespace() || *b == 0x0B))
        .map_or(&[][..], |i| &unmarked[i..]);
    let head = &start[..start.len().min(XML_HEAD_BYTES)];
    if head.starts_with(b"MSH") || head.starts_with(b"FHS") || head.starts_with(b"BHS") {
        return Some(Format::Hl7v2);
    }
    if head.starts_with(b"UNA") || head.starts_with(b"UNB") {
        return Some(Format::Edifact);
    }
    if head.starts_with(b"<") {
        return (contains(head, b"ClinicalDocument") && contains(head, b"urn:hl7-org:v3")).then_some(Format::Cda);
    }
    if zorgpoort_ecd::detect(input).is_some() {
        return Some(Format::Ecd);
    }
    if head.starts_with(b"{") && contains(head, b"\"resourceType\"") {
        return Some(Format::FhirR4);
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_format_by_its_start() {
        assert_eq!(detect(b"\x0bMSH|^~\\&|A"), Some(Format::Hl7v2));
        assert_eq!(detect(b"\xEF\xBB\xBF\r\nBHS|^~\\&"), Some(Format::Hl7v2));
        assert_eq!(detect(b"UNA:+.? 'UNB+UNOC:3"), Some(Format::Edifact));
        assert_eq!(detect(b"UNB+UNOA:1+X"), Some(Format::Edifact));
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\">"),
            Some(Format::Cda)
        );
        assert_eq!(detect(b"{\"resourceType\":\"Bundle\"}"), Some(Format::FhirR4));
        assert_eq!(detect(b"<Patient xmlns=\"http://hl7.org/fhir\"/>"), None);
        assert_eq!(detect(b"hello"), None);
        assert_eq!(detect(b""), None);
    }
}
