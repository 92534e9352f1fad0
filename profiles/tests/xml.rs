//! FHIR XML to FHIR JSON: the nl-core examples, typed values, nested
//! resources, every kind of refusal with its position, and no panics on
//! arbitrary input.

use proptest::prelude::*;
use serde_json::{Value, json};
use zorgpoort_profiles::xml::{XmlError, XmlLimits, resource_from_xml};

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../conformance-tests/corpora/nl-core/examples"
);

fn read(text: &str) -> Result<Value, XmlError> {
    resource_from_xml(text, &XmlLimits::default())
}

fn fails(text: &str) -> XmlError {
    match read(text) {
        Ok(value) => panic!("expected an error, got {value}"),
        Err(error) => error,
    }
}

#[test]
fn nl_core_patient() {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/nl-core-Patient-01.xml")).unwrap();
    let patient = read(&text).unwrap();
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["id"], "nl-core-Patient-01");
    assert_eq!(
        patient["identifier"][0]["system"],
        "http://fhir.nl/fhir/NamingSystem/bsn"
    );
    let name = &patient["name"][0];
    assert_eq!(name["family"], "van Putten-van der Giessen");
    assert_eq!(name["_family"]["extension"].as_array().unwrap().len(), 4);
    let given = name["given"].as_array().unwrap();
    let given_extras = name["_given"].as_array().unwrap();
    assert!(!given.is_empty());
    assert_eq!(given.len(), given_extras.len());
    assert!(given_extras.iter().all(|extra| extra["extension"].is_array()));
    let div = patient["text"]["div"].as_str().unwrap();
    assert!(div.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\""), "{div}");
    assert!(div.ends_with("</div>"));
    assert_eq!(patient["text"]["status"], "extensions");
}

#[test]
fn all_nl_core_examples() {
    let mut count = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(EXAMPLES).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "xml") {
            continue;
        }
        count += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        match read(&text) {
            Ok(value) => assert!(value["resourceType"].is_string(), "{}", path.display()),
            Err(error) => failures.push(format!("{}: {error}", path.display())),
        }
    }
    assert_eq!(count, 271);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn numbers_booleans_and_extension_urls() {
    let observation = read(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<Observation xmlns="http://hl7.org/fhir">
  <?some processing-instruction?>
  <extension url="http://example.org/flag">
    <valueBoolean value="true"/>
  </extension>
  <status value="final"/>
  <code id="c1"><text value="Hartfrequentie"/></code>
  <valueQuantity>
    <value value="72.5"/>
    <unit value="/min"/>
  </valueQuantity>
  <component>
    <code><text value="count"/></code>
    <valueInteger value="-3"/>
  </component>
</Observation>"#,
    )
    .unwrap();
    assert_eq!(
        observation,
        json!({
            "resourceType": "Observation",
            "extension": [{ "url": "http://example.org/flag", "valueBoolean": true }],
            "status": "final",
            "code": { "id": "c1", "text": "Hartfrequentie" },
            "valueQuantity": { "value": 72.5, "unit": "/min" },
            "component": [{ "code": { "text": "count" }, "valueInteger": -3 }],
        })
    );
    assert!(observation["component"][0]["valueInteger"].is_i64());
}

#[test]
fn primitive_ids_and_extensions_align() {
    let patient = read(
        r#"<Patient xmlns="http://hl7.org/fhir">
  <name>
    <given value="A"/>
    <given id="g2"><extension url="http://example.org/e"><valueString value="x"/></extension></given>
    <given value="C"/>
  </name>
  <name><given value="D"/></name>
  <birthDate value="1934-04-28" id="b"/>
</Patient>"#,
    )
    .unwrap();
    assert_eq!(
        patient,
        json!({
            "resourceType": "Patient",
            "name": [
                {
                    "given": ["A", null, "C"],
                    "_given": [null, { "id": "g2", "extension": [{ "url": "http://example.org/e", "valueString": "x" }] }, null],
                },
                { "given": ["D"] },
            ],
            "birthDate": "1934-04-28",
            "_birthDate": { "id": "b" },
        })
    );
}

#[test]
fn nested_resources() {
    let bundle = read(
        r##"<Bundle xmlns="http://hl7.org/fhir">
  <type value="collection"/>
  <entry>
    <fullUrl value="urn:uuid:1"/>
    <resource>
      <Patient><id value="p1"/><active value="false"/></Patient>
    </resource>
  </entry>
  <entry>
    <resource>
      <Observation>
        <contained><Patient><id value="c"/></Patient></contained>
        <status value="final"/>
        <subject><reference value="#c"/></subject>
      </Observation>
    </resource>
  </entry>
</Bundle>"##,
    )
    .unwrap();
    assert_eq!(
        bundle,
        json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                { "fullUrl": "urn:uuid:1", "resource": { "resourceType": "Patient", "id": "p1", "active": false } },
                { "resource": {
                    "resourceType": "Observation",
                    "contained": [{ "resourceType": "Patient", "id": "c" }],
                    "status": "final",
                    "subject": { "reference": "#c" },
                } },
            ],
        })
    );
}

#[test]
fn narrative_source_is_kept() {
    let declared = r#"<div xmlns="http://www.w3.org/1999/xhtml" class='a>b'>x &amp; <b>y</b></div>"#;
    let text =
        format!(r#"<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/>{declared}</text></Patient>"#);
    assert_eq!(read(&text).unwrap()["text"]["div"], declared);

    let inherited = r#"<f:Patient xmlns:f="http://hl7.org/fhir" xmlns="http://www.w3.org/1999/xhtml">
<f:text><f:status value="generated"/><div class="xmlns"><p>hi</p></div></f:text></f:Patient>"#;
    let expected = r#"<div xmlns="http://www.w3.org/1999/xhtml" class="xmlns"><p>hi</p></div>"#;
    assert_eq!(read(inherited).unwrap()["text"]["div"], expected);

    let prefixed = r#"<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><h:div xmlns:h="http://www.w3.org/1999/xhtml"/></text></Patient>"#;
    assert!(fails(prefixed).reason.contains("without a namespace prefix"));
}

fn assert_error(error: &XmlError, line: u32, column: u32, path: &str, reason: &str) {
    assert_eq!(
        (error.line, error.column, error.path.as_str()),
        (line, column, path),
        "{error}"
    );
    assert!(error.reason.contains(reason), "{error}");
}

#[test]
fn unknown_element() {
    let error =
        fails("<Patient xmlns=\"http://hl7.org/fhir\">\n  <name>\n    <foo value=\"x\"/>\n  </name>\n</Patient>");
    assert_error(&error, 3, 5, "Patient.name[0].foo", "HumanName has no element `foo`");
    assert_eq!(
        error.to_string(),
        "line 3, column 5 (Patient.name[0].foo): HumanName has no element `foo`"
    );

    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><foo value=\"x\"/></Patient>");
    assert_error(&error, 1, 38, "Patient.foo", "Patient has no element `foo`");
    // JSON-only names are not XML elements.
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><_gender><extension/></_gender></Patient>");
    assert_error(&error, 1, 38, "Patient._gender", "Patient has no element `_gender`");
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><name><id value=\"x\"/></name></Patient>");
    assert_error(&error, 1, 44, "Patient.name[0].id", "attribute");
}

#[test]
fn doctype_and_entities_refused() {
    let error = fails(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE Patient [<!ENTITY x \"boom\">]>\n<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&x;\"/></Patient>",
    );
    assert_error(&error, 2, 1, "", "document type declarations");
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&x;\"/></Patient>");
    assert_error(&error, 1, 49, "", "unknown entity reference");
}

#[test]
fn limits() {
    let nested = format!(
        "<Patient xmlns=\"http://hl7.org/fhir\">{}<valueString value=\"x\"/>{}</Patient>",
        "<extension url=\"u\">".repeat(10),
        "</extension>".repeat(10)
    );
    assert!(read(&nested).is_ok());
    let error = resource_from_xml(
        &nested,
        &XmlLimits {
            max_depth: 5,
            ..XmlLimits::default()
        },
    )
    .unwrap_err();
    assert_error(
        &error,
        1,
        114,
        "Patient.extension[0].extension[0].extension[0].extension[0].extension[0]",
        "nested deeper than 5",
    );

    let error = resource_from_xml(
        &nested,
        &XmlLimits {
            max_bytes: 100,
            ..XmlLimits::default()
        },
    )
    .unwrap_err();
    assert_error(&error, 1, 1, "", "more than the limit of 100");

    // Nesting far beyond any limit is refused without exhausting the stack.
    let deep = format!(
        "<Patient xmlns=\"http://hl7.org/fhir\">{}",
        "<extension>".repeat(200_000)
    );
    assert!(read(&deep).is_err());
    let deep = format!(
        "<Patient xmlns=\"http://hl7.org/fhir\">{}{}</Patient>",
        "<extension>".repeat(100_000),
        "</extension>".repeat(100_000)
    );
    assert!(fails(&deep).reason.contains("nested deeper than 64"));
}

#[test]
fn bad_values() {
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\">\n<active value=\"yes\"/></Patient>");
    assert_error(&error, 2, 9, "Patient.active", "value `yes` is not `true` or `false`");
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><multipleBirthInteger value=\"1.5x\"/></Patient>");
    assert_error(
        &error,
        1,
        60,
        "Patient.multipleBirthInteger",
        "value `1.5x` is not a number",
    );
    let error = fails(
        "<Observation xmlns=\"http://hl7.org/fhir\"><valueQuantity><value value=\" 1\"/></valueQuantity></Observation>",
    );
    assert_error(
        &error,
        1,
        64,
        "Observation.valueQuantity.value",
        "value ` 1` is not a number",
    );
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><name><given/></name></Patient>");
    assert_error(
        &error,
        1,
        44,
        "Patient.name[0].given[0]",
        "needs a `value` or extensions",
    );
    let error = fails(
        "<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"a\" id=\"x\" lang=\"nl\"/></name></Patient>",
    );
    assert_error(&error, 1, 69, "Patient.name[0].family", "unexpected attribute `lang`");
    let error =
        fails("<Patient xmlns=\"http://hl7.org/fhir\"><gender value=\"male\"/><gender value=\"male\"/></Patient>");
    assert_error(&error, 1, 60, "Patient.gender", "does not repeat");
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><name>van Putten</name></Patient>");
    assert_error(&error, 1, 44, "Patient.name[0]", "text content is not allowed");
}

#[test]
fn wrong_namespace_or_root() {
    let error = fails("<Patient xmlns=\"http://example.org\"/>");
    assert_error(&error, 1, 1, "", "`Patient` is not in the FHIR namespace");
    let error = fails("<Patient/>");
    assert_error(&error, 1, 1, "", "`Patient` is not in the FHIR namespace");
    let error = fails("<HumanName xmlns=\"http://hl7.org/fhir\"><family value=\"x\"/></HumanName>");
    assert_error(&error, 1, 1, "", "`HumanName` is not a FHIR resource type");
    let error =
        fails("<Patient xmlns=\"http://hl7.org/fhir\"><active xmlns=\"http://example.org\" value=\"true\"/></Patient>");
    assert_error(
        &error,
        1,
        38,
        "Patient.active",
        "not in the namespace http://hl7.org/fhir",
    );
    let error =
        fails("<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/><div/></text></Patient>");
    assert_error(
        &error,
        1,
        71,
        "Patient.text.div",
        "not in the namespace http://www.w3.org/1999/xhtml",
    );
    let error =
        fails("<Bundle xmlns=\"http://hl7.org/fhir\"><entry><resource><HumanName/></resource></entry></Bundle>");
    assert_error(
        &error,
        1,
        54,
        "Bundle.entry[0].resource",
        "`HumanName` is not a FHIR resource type",
    );
    let error = fails("<Patient xmlns=\"http://hl7.org/fhir\"><contained/></Patient>");
    assert_error(&error, 1, 38, "Patient.contained[0]", "holds no resource");
    let error = fails("not xml");
    assert_error(&error, 1, 1, "", "malformed XML");
}

/// Fragments that combine into documents reaching deep into the reader.
const FRAGMENTS: &[&str] = &[
    "<Patient xmlns=\"http://hl7.org/fhir\">",
    "</Patient>",
    "<name>",
    "</name>",
    "<given value=\"x\"/>",
    "<given>",
    "</given>",
    "<extension url=\"u\">",
    "</extension>",
    "<valueBoolean value=\"true\"/>",
    "<valueInteger value=\"1e999\"/>",
    "<text><status value=\"generated\"/>",
    "<div xmlns=\"http://www.w3.org/1999/xhtml\">",
    "<div>",
    "</div>",
    "</text>",
    "<contained>",
    "</contained>",
    "<id value=\"1\"/>",
    "<!DOCTYPE x>",
    "<!-- c -->",
    "&amp;",
    "&x;",
    "<![CDATA[y]]>",
    " ",
    "z",
    "\u{e9}",
    "<",
    ">",
    "\"",
];

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(text in ".*") {
        let _ = read(&text);
    }

    #[test]
    fn xml_like_strings_never_panic(text in "(<[a-zA-Z:/]{0,8}( [a-z:]{1,6}=\"[^\"<]{0,6}\")?/?>|[ a-z&;]{0,4}){0,24}") {
        let _ = read(&text);
    }

    #[test]
    fn fragment_documents_never_panic(parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..40)) {
        let text = parts.concat();
        let _ = read(&text);
        let _ = resource_from_xml(&text, &XmlLimits { max_bytes: 200, max_depth: 3 });
    }
}
