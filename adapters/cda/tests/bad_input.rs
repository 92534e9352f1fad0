//! Input that must be refused, each with the exact error: where (line,
//! column, element path) and why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use zorgpoort_cda::{Error, ErrorKind, Limits, Options, to_fhir};

/// A minimal valid document around `patient` (the `<patientRole>` content) and `body`.
fn document(patient: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <id root="2.16.528.1.1007.3.3.1.1" extension="DOC-1"/>
  <code code="57133-1" codeSystem="2.16.840.1.113883.6.1"/>
  <title>Verwijsbrief</title>
  <effectiveTime value="20260101120000"/>
  <recordTarget>
    <patientRole>
{patient}
    </patientRole>
  </recordTarget>
  <author><assignedAuthor><id root="2.16.840.1.113883.2.4.6.1" extension="01004567"/></assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization><id root="2.16.528.1.1007.3.3" extension="00001234"/></representedCustodianOrganization></assignedCustodian></custodian>
  <component><structuredBody>{body}</structuredBody></component>
</ClinicalDocument>"#
    )
}

const PATIENT: &str = r#"      <id root="2.16.840.1.113883.2.4.6.3" extension="999911120"/>
      <patient><name><given>Jan</given><family>van der Berg</family></name><birthTime value="19580704"/></patient>"#;

fn convert(text: &str) -> Result<zorgpoort_model::Conversion<'static>, Error> {
    to_fhir(text.as_bytes(), &Options::default())
}

fn error_of(text: &str) -> Error {
    match convert(text) {
        Ok(_) => panic!("converted, but should have been refused"),
        Err(e) => e,
    }
}

#[test]
fn the_minimal_document_converts() {
    let conversion = convert(&document(PATIENT, "")).unwrap();
    assert_eq!(conversion.origin.sender, "00001234");
    assert_eq!(conversion.origin.message_id, "2.16.528.1.1007.3.3.1.1^DOC-1");
    assert_eq!(conversion.origin.event, "CDA^57133-1");
}

#[test]
fn a_dtd_is_refused() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ClinicalDocument xmlns="urn:hl7-org:v3">&lol3;</ClinicalDocument>"#;
    let error = error_of(bomb);
    assert_eq!(error.kind, ErrorKind::Dtd);
    assert_eq!(error.to_string(), "DTDs and entity declarations are not accepted");
}

#[test]
fn an_undeclared_entity_is_not_xml() {
    let error = error_of("<ClinicalDocument xmlns=\"urn:hl7-org:v3\">&xxe;</ClinicalDocument>");
    assert!(matches!(error.kind, ErrorKind::NotXml(_)), "{error}");
    assert_eq!(error.location.as_deref(), Some("line 1, column 42"));
}

#[test]
fn too_deep_nesting_is_refused_with_its_place() {
    let depth = 300;
    let text = format!(
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">{}{}</ClinicalDocument>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    let error = error_of(&text);
    assert_eq!(error.kind, ErrorKind::TooDeep { limit: 256 });
    let location = error.location.unwrap();
    // The 256th <a> is the first element below the limit: 41 + 255 * 3 + 1.
    assert!(
        location.starts_with("line 1, column 807 (/ClinicalDocument/a/a/"),
        "{location}"
    );
    assert_eq!(location.matches("/a").count(), 256, "{location}");
}

#[test]
fn a_very_deep_document_does_not_overflow_the_stack() {
    let depth = 200_000;
    let text = format!("<r>{}{}</r>", "<a>".repeat(depth), "</a>".repeat(depth));
    let options = Options {
        limits: Limits {
            max_depth: usize::MAX,
            ..Limits::default()
        },
        ..Options::default()
    };
    let error = to_fhir(text.as_bytes(), &options).unwrap_err();
    assert!(matches!(error.kind, ErrorKind::NotCda(_)), "{error}");
}

#[test]
fn too_many_nodes_are_refused() {
    let options = Options {
        limits: Limits {
            max_nodes: 10,
            ..Limits::default()
        },
        ..Options::default()
    };
    let error = to_fhir(document(PATIENT, "").as_bytes(), &options).unwrap_err();
    assert_eq!(error.kind, ErrorKind::TooManyNodes { limit: 10 });
}

#[test]
fn too_large_input_is_refused_before_parsing() {
    let options = Options {
        limits: Limits {
            max_bytes: 100,
            ..Limits::default()
        },
        ..Options::default()
    };
    let error = to_fhir(&[b'<'; 101], &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        "document of 101 bytes exceeds the limit of 100 bytes"
    );
}

#[test]
fn broken_xml_says_line_and_column() {
    let error = error_of("<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n  <id root=\"1\">\n</ClinicalDocument>");
    assert_eq!(
        error.to_string(),
        "line 3, column 1: not well-formed XML: expected 'id' tag, not 'ClinicalDocument'"
    );
}

#[test]
fn invalid_utf8_without_a_declared_encoding_is_refused() {
    let error = to_fhir(b"<ClinicalDocument>\n\xff</ClinicalDocument>", &Options::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 2, column 1: not well-formed XML: invalid UTF-8 byte sequence (declare the encoding)"
    );
}

#[test]
fn a_root_that_is_not_clinical_document_is_not_cda() {
    let error = error_of("<?xml version=\"1.0\"?>\n<Bundle xmlns=\"http://hl7.org/fhir\"/>");
    assert_eq!(
        error.to_string(),
        "line 2, column 1 (/Bundle): not a CDA document: root element is {http://hl7.org/fhir}Bundle, \
         expected ClinicalDocument in namespace urn:hl7-org:v3"
    );
    let error = error_of("<ClinicalDocument/>");
    assert!(
        matches!(error.kind, ErrorKind::NotCda(ref name) if name == "ClinicalDocument"),
        "{error}"
    );
}

#[test]
fn a_document_about_two_patients_is_refused() {
    let second = r#"<recordTarget><patientRole><id root="2.16.840.1.113883.2.4.6.3" extension="999910851"/></patientRole></recordTarget>
  <author>"#;
    let text = document(PATIENT, "").replacen("<author>", second, 1);
    let error = error_of(&text);
    assert_eq!(
        error.to_string(),
        "line 13, column 3 (/ClinicalDocument/recordTarget[2]): a second recordTarget: the document is about \
         more than one patient; send one document per patient"
    );
}

#[test]
fn an_impossible_birth_date_names_the_element() {
    let patient = PATIENT.replace("19580704", "19800230");
    let error = error_of(&document(&patient, ""));
    assert_eq!(
        error.to_string(),
        "line 10, column 76 (/ClinicalDocument/recordTarget/patientRole/patient/birthTime): \
         invalid birthTime/@value: \"19800230\" is not a day of the calendar"
    );
}

#[test]
fn an_unreadable_document_time_is_an_error() {
    let text = document(PATIENT, "").replace("20260101120000", "2026-01-01");
    let error = error_of(&text);
    assert_eq!(
        error.kind,
        ErrorKind::Invalid {
            element: "effectiveTime/@value".to_owned(),
            reason: "\"2026-01-01\" is not an HL7 timestamp (YYYYMMDDHHMMSS)".to_owned(),
        }
    );
    assert_eq!(
        error.location.as_deref(),
        Some("line 6, column 3 (/ClinicalDocument/effectiveTime)")
    );
}

#[test]
fn an_invalid_bsn_is_refused_with_its_place() {
    let patient = format!(
        "      <id root=\"1.2.3\" extension=\"X\"/>\n{}",
        PATIENT.replace("999911120", "123456789")
    );
    let error = error_of(&document(&patient, ""));
    assert_eq!(
        error.to_string(),
        "line 10, column 7 (/ClinicalDocument/recordTarget/patientRole/id[2]): BSN fails the 11-check"
    );
}

#[test]
fn missing_header_elements_are_named() {
    let without_id = document(PATIENT, "").replace("<id root=\"2.16.528.1.1007.3.3.1.1\" extension=\"DOC-1\"/>", "");
    assert_eq!(error_of(&without_id).kind, ErrorKind::Missing("ClinicalDocument/id"));
    let without_time = document(PATIENT, "").replace("<effectiveTime value=\"20260101120000\"/>", "");
    assert_eq!(
        error_of(&without_time).kind,
        ErrorKind::Missing("ClinicalDocument/effectiveTime")
    );
    let start = document(PATIENT, "");
    let without_patient = start.replace(
        &format!("<recordTarget>\n    <patientRole>\n{PATIENT}\n    </patientRole>\n  </recordTarget>"),
        "",
    );
    assert_ne!(without_patient, start);
    assert_eq!(error_of(&without_patient).kind, ErrorKind::Missing("recordTarget"));
}

#[test]
fn a_bad_date_inside_an_entry_is_left_out_with_a_warning() {
    let body = r#"<component><section>
      <code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/>
      <entry><observation classCode="OBS" moodCode="EVN">
        <effectiveTime><low value="20261341"/></effectiveTime>
        <value xsi:type="CD" code="44054006" codeSystem="2.16.840.1.113883.6.96"/>
      </observation></entry></section></component>"#;
    let conversion = convert(&document(PATIENT, body)).unwrap();
    let warning = conversion
        .warnings
        .iter()
        .find(|w| w.message.contains("unreadable timestamp"))
        .expect("a warning");
    assert_eq!(
        warning.to_string(),
        "line 18, column 24 (/ClinicalDocument/component/structuredBody/component/section/entry/observation/effectiveTime/low): \
         unreadable timestamp left out: \"20261341\" has no month 13"
    );
}

#[test]
fn a_flood_of_unmapped_entries_is_reported_within_bounds() {
    let entry = r#"<entry><observation classCode="OBS" moodCode="EVN"/></entry>"#;
    let body = format!(
        "<component><section><code code=\"10164-2\" codeSystem=\"2.16.840.1.113883.6.1\"/>{}</section></component>",
        entry.repeat(20_000)
    );
    let conversion = convert(&document(PATIENT, &body)).unwrap();
    assert_eq!(conversion.warnings.len(), 10_001);
    assert!(
        conversion.warnings[9_999]
            .location
            .ends_with("/section/entry[10000]/observation)"),
        "{}",
        conversion.warnings[9_999]
    );
    assert_eq!(
        conversion.warnings[10_000].message,
        "10000 further warnings left out (at most 10000 are kept)"
    );
}

#[test]
fn deeply_nested_narrative_and_sections_stay_within_the_stack() {
    let depth = 50_000;
    let narrative = format!(
        "<text>{}x{}</text>",
        "<content>".repeat(depth),
        "</content>".repeat(depth)
    );
    let sections = format!(
        "{}{}",
        "<component><section><title>t</title>".repeat(200),
        "</section></component>".repeat(200)
    );
    let body = format!("<component><section>{narrative}{sections}</section></component>");
    let options = Options {
        limits: Limits {
            max_depth: usize::MAX,
            ..Limits::default()
        },
        ..Options::default()
    };
    let conversion = to_fhir(document(PATIENT, &body).as_bytes(), &options).unwrap();
    let messages: Vec<&str> = conversion.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        messages.contains(&"narrative nested too deep; kept as plain text"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"section nested too deep; not mapped"),
        "{messages:?}"
    );
}

#[test]
fn many_references_to_one_large_narrative_are_bounded() {
    let rows = "<tr><td>a long cell of narrative text</td></tr>".repeat(5_000);
    let entry = r##"<entry><observation classCode="OBS" moodCode="EVN"><code code="1" codeSystem="2.16.840.1.113883.6.1"/><value xsi:type="CD" nullFlavor="OTH"><originalText><reference value="#big"/></originalText></value></observation></entry>"##;
    let body = format!(
        "<component><section><code code=\"11450-4\" codeSystem=\"2.16.840.1.113883.6.1\"/><text><table ID=\"big\"><tbody>{rows}</tbody></table></text>{}</section></component>",
        entry.repeat(5_000)
    );
    let started = std::time::Instant::now();
    let conversion = convert(&document(PATIENT, &body)).unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let json = conversion.bundle.to_json();
    assert_eq!(json.matches("\"resourceType\":\"Condition\"").count(), 5_000);
    // Copies are cut and budgeted: the output stays a small multiple of the input.
    assert!(json.len() < 12 * 1024 * 1024, "{}", json.len());
    let messages: Vec<String> = conversion.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("/text/table): referenced narrative text cut to 4096 characters")),
        "{:?}",
        &messages[..3]
    );
    assert!(messages.iter().any(|m| m.contains("budget for copied text is spent")));
}

/// A C-CDA Problem Section (2.16.840.1.113883.10.20.22.2.5.1) given on its
/// own: its `xsi:type` uses a prefix only the document would declare.
const LONE_SECTION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a section cut from a document -->
<section xmlns="urn:hl7-org:v3">
  <templateId root="2.16.840.1.113883.10.20.22.2.5.1"/>
  <code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/>
  <entry><observation classCode="OBS" moodCode="EVN"><value xsi:type="CD" code="38341003"/></observation></entry>
</section>"#;

#[test]
fn a_section_or_other_fragment_is_refused_as_no_cda_document() {
    let error = error_of(LONE_SECTION);
    assert_eq!(
        error.to_string(),
        "line 3, column 1 (/section): not a CDA document: root element is {urn:hl7-org:v3}section, \
         expected ClinicalDocument in namespace urn:hl7-org:v3"
    );
    // Well-formed or not, any other root is named as found.
    let error = error_of("<v3:observation xmlns:v3=\"urn:hl7-org:v3\"><value xsi:type=\"PQ\"/></v3:observation>");
    assert_eq!(error.kind, ErrorKind::NotCda("v3:observation".to_owned()));
    let error = error_of("<entry><act/></entry>");
    assert_eq!(error.kind, ErrorKind::NotCda("entry".to_owned()));
    // A ClinicalDocument that is not well-formed is still an XML error.
    let error = error_of("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id xsi:type=\"II\"/></ClinicalDocument>");
    assert!(matches!(error.kind, ErrorKind::NotXml(_)), "{error}");
}
