//! Microsoft's expected R4 Bundles (the FHIR-Converter's output for its own
//! HL7 v2 samples) pass the structural check: the R4 JSON schema, no empty
//! values, dates on the calendar. They claim no profile, so every error is
//! structural. The few that are really invalid R4 are listed in `INVALID`
//! with the rule they break; the errors found must be exactly that list, so
//! a new error fails the test, and so does a listed one that is no longer
//! found.

#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use zorgpoort_profiles::{Issue, IssueType, ProfileChoice, Severity, validate};

const EXPECTED_R4: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../conformance-tests/corpora/hl7v2/ms-fhir-converter/expected-r4"
);

/// An error that is right: the Bundle breaks R4 there.
struct Invalid {
    file: &'static str,
    expression: &'static str,
    code: IssueType,
    /// What the validator's message must say.
    says: &'static str,
    /// Why R4 rejects it.
    reason: &'static str,
}

const INVALID: &[Invalid] = &[
    // Provenance.agent is 1..* in R4; Microsoft's ADT templates for v2.3 and
    // v2.8 messages make a Provenance with only recorded, activity and target.
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[12].resource.agent",
        code: IssueType::Required,
        says: "`agent` is required",
        reason: "Provenance.agent is 1..*",
    },
    Invalid {
        file: "ADT01-28-expected.json",
        expression: "Bundle.entry[10].resource.agent",
        code: IssueType::Required,
        says: "`agent` is required",
        reason: "Provenance.agent is 1..*",
    },
    Invalid {
        file: "ADT04-28-expected.json",
        expression: "Bundle.entry[13].resource.agent",
        code: IssueType::Required,
        says: "`agent` is required",
        reason: "Provenance.agent is 1..*",
    },
    // ContactPoint.system is bound (required) to ContactPointSystem
    // (phone | fax | email | pager | url | sms | other); the template put the
    // number "JP:1234567" there, and left value empty.
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.telecom[0].system",
        code: IssueType::CodeInvalid,
        says: "\"JP:1234567\"",
        reason: "ContactPoint.system: \"JP:1234567\" is not a ContactPointSystem code (required binding)",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.telecom[1].system",
        code: IssueType::CodeInvalid,
        says: "\"JP:1234568\"",
        reason: "ContactPoint.system: \"JP:1234568\" is not a ContactPointSystem code (required binding)",
    },
    // ContactPoint.use is bound (required) to ContactPointUse
    // (home | work | temp | old | mobile); codes are case-sensitive.
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.telecom[0].use",
        code: IssueType::CodeInvalid,
        says: "\"HOME\"",
        reason: "ContactPoint.use: \"HOME\" is not a ContactPointUse code; the code is `home`",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.telecom[1].use",
        code: IssueType::CodeInvalid,
        says: "\"HOME\"",
        reason: "ContactPoint.use: \"HOME\" is not a ContactPointUse code; the code is `home`",
    },
    // HumanName.use is bound (required) to NameUse (usual | official | temp |
    // nickname | anonymous | old | maiden); the template copied XPN-7 text.
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[6].resource.name[0].use",
        code: IssueType::CodeInvalid,
        says: "\"CURRENT\"",
        reason: "HumanName.use: \"CURRENT\" is not a NameUse code (required binding)",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[7].resource.name[0].use",
        code: IssueType::CodeInvalid,
        says: "\"CURRENT\"",
        reason: "HumanName.use: \"CURRENT\" is not a NameUse code (required binding)",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[12].resource.name[0].use",
        code: IssueType::CodeInvalid,
        says: "\"CURRENT\"",
        reason: "HumanName.use: \"CURRENT\" is not a NameUse code (required binding)",
    },
    // Provenance.agent.who is 1..1 in R4; the ORU template gives the agent
    // only a type.
    Invalid {
        file: "LAB-ORU-1-expected.json",
        expression: "Bundle.entry[1].resource.agent[0].who",
        code: IssueType::Required,
        says: "`who` is required",
        reason: "Provenance.agent.who is 1..1",
    },
    Invalid {
        file: "LAB-ORU-2-expected.json",
        expression: "Bundle.entry[1].resource.agent[0].who",
        code: IssueType::Required,
        says: "`who` is required",
        reason: "Provenance.agent.who is 1..1",
    },
    // A DiagnosticReport with only id and performer: DiagnosticReport.code
    // and DiagnosticReport.status are 1..1; and the batch entry has no
    // request, which bdl-3 requires.
    Invalid {
        file: "OUL-R24-01-expected.json",
        expression: "Bundle.entry[100].request",
        code: IssueType::Invariant,
        says: "bdl-3",
        reason: "Bundle.entry.request is mandatory in a batch",
    },
    Invalid {
        file: "OUL-R24-01-expected.json",
        expression: "Bundle.entry[100].resource.code",
        code: IssueType::Required,
        says: "`code` is required",
        reason: "DiagnosticReport.code is 1..1",
    },
    Invalid {
        file: "OUL-R24-01-expected.json",
        expression: "Bundle.entry[100].resource.status",
        code: IssueType::Required,
        says: "`status` is required",
        reason: "DiagnosticReport.status is 1..1",
    },
    // A DocumentReference with only an author: DocumentReference.content is
    // 1..* and DocumentReference.status 1..1; no request either (bdl-3).
    Invalid {
        file: "VXU-V04-01-expected.json",
        expression: "Bundle.entry[88].request",
        code: IssueType::Invariant,
        says: "bdl-3",
        reason: "Bundle.entry.request is mandatory in a batch",
    },
    Invalid {
        file: "VXU-V04-01-expected.json",
        expression: "Bundle.entry[88].resource.content",
        code: IssueType::Required,
        says: "`content` is required",
        reason: "DocumentReference.content is 1..*",
    },
    Invalid {
        file: "VXU-V04-01-expected.json",
        expression: "Bundle.entry[88].resource.status",
        code: IssueType::Required,
        says: "`status` is required",
        reason: "DocumentReference.status is 1..1",
    },
    // lnk-1: a Linkage has at least two items; the template makes one with a
    // single item.
    Invalid {
        file: "ADT-A41-02-expected.json",
        expression: "Bundle.entry[12].resource",
        code: IssueType::Invariant,
        says: "lnk-1:",
        reason: "lnk-1",
    },
    // cpt-2: a ContactPoint with a value has a system; the templates write
    // the v2 phone number without one.
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[3].resource.contact[0].telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[3].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[3].resource.telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[13].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[17].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[19].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-23-expected.json",
        expression: "Bundle.entry[21].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-28-expected.json",
        expression: "Bundle.entry[3].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT01-28-expected.json",
        expression: "Bundle.entry[3].resource.telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.contact[0].telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.contact[0].telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.contact[1].telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[4].resource.contact[1].telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[13].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[13].resource.telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[14].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[14].resource.telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    // org-1: an Organization has a name or an identifier; the template makes
    // one with only a contact.
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[16].resource",
        code: IssueType::Invariant,
        says: "org-1:",
        reason: "org-1",
    },
    Invalid {
        file: "ADT04-23-expected.json",
        expression: "Bundle.entry[19].resource",
        code: IssueType::Invariant,
        says: "org-1:",
        reason: "org-1",
    },
    Invalid {
        file: "ADT04-28-expected.json",
        expression: "Bundle.entry[3].resource.contact[0].telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-28-expected.json",
        expression: "Bundle.entry[3].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-28-expected.json",
        expression: "Bundle.entry[14].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ADT04-28-expected.json",
        expression: "Bundle.entry[16].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "LAB-ORU-1-expected.json",
        expression: "Bundle.entry[2].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "LAB-ORU-1-expected.json",
        expression: "Bundle.entry[2].resource.telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "LAB-ORU-2-expected.json",
        expression: "Bundle.entry[2].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "LAB-ORU-2-expected.json",
        expression: "Bundle.entry[2].resource.telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ORU-R01-RMGEAD-expected.json",
        expression: "Bundle.entry[4].resource.telecom[0]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
    Invalid {
        file: "ORU-R01-RMGEAD-expected.json",
        expression: "Bundle.entry[4].resource.telecom[1]",
        code: IssueType::Invariant,
        says: "cpt-2:",
        reason: "cpt-2",
    },
];

fn bundles() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(EXPECTED_R4)
        .unwrap_or_else(|e| panic!("{EXPECTED_R4}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 132, "Microsoft's expected Bundles at {EXPECTED_R4}");
    paths
}

fn read(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a finding is about a profile rather than about R4 itself. The
/// Bundles claim none (see the test below), so no profile rule applies and
/// only an unknown profile could be reported.
fn is_profile_related(issue: &Issue) -> bool {
    issue.code == IssueType::NotSupported
}

/// Every `meta.profile` anywhere in `value`.
fn claimed_profiles(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(profiles) = object.get("meta").and_then(|meta| meta.get("profile")) {
                found.push(profiles.to_string());
            }
            object.values().for_each(|child| claimed_profiles(child, found));
        }
        Value::Array(items) => items.iter().for_each(|item| claimed_profiles(item, found)),
        _ => {}
    }
}

#[test]
fn microsofts_bundles_claim_no_profile() {
    for path in bundles() {
        let mut claimed = Vec::new();
        claimed_profiles(&read(&path), &mut claimed);
        assert!(claimed.is_empty(), "{} claims {claimed:?}", name(&path));
    }
}

#[test]
fn microsofts_expected_bundles_are_structurally_valid_r4_but_for_the_listed_errors() {
    let mut found: Vec<(String, Issue)> = Vec::new();
    for path in bundles() {
        let bundle = read(&path);
        assert_eq!(bundle["resourceType"], "Bundle", "{}", name(&path));
        for issue in validate(&bundle, ProfileChoice::Claimed) {
            if issue.severity == Severity::Error && !is_profile_related(&issue) {
                found.push((name(&path), issue));
            }
        }
    }
    let key = |file: &str, expression: &str, code: IssueType| format!("{file} {expression} {}", code.as_str());
    let mut actual: Vec<String> = found
        .iter()
        .map(|(file, issue)| key(file, &issue.expression, issue.code))
        .collect();
    let mut expected: Vec<String> = INVALID.iter().map(|i| key(i.file, i.expression, i.code)).collect();
    actual.sort();
    expected.sort();
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(file, issue)| !expected.contains(&key(file, &issue.expression, issue.code)))
        .map(|(file, issue)| format!("{file} {}: {}", issue.expression, issue.message))
        .collect();
    let gone: Vec<String> = INVALID
        .iter()
        .filter(|i| !actual.contains(&key(i.file, i.expression, i.code)))
        .map(|i| format!("{} {}: {}", i.file, i.expression, i.reason))
        .collect();
    assert!(
        unexpected.is_empty() && gone.is_empty() && actual == expected,
        "errors not in INVALID:\n{}\nINVALID entries no longer found:\n{}\nfound: {actual:#?}",
        unexpected.join("\n"),
        gone.join("\n"),
    );
    for invalid in INVALID {
        let (_, issue) = found
            .iter()
            .find(|(file, issue)| {
                file == invalid.file && issue.expression == invalid.expression && issue.code == invalid.code
            })
            .expect("matched above");
        assert!(
            issue.message.contains(invalid.says),
            "{} {}: {:?} does not say {:?} ({})",
            invalid.file,
            invalid.expression,
            issue.message,
            invalid.says,
            invalid.reason
        );
    }
}
