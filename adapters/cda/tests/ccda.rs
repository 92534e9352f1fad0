//! The C-CDA probes under `tests/fixtures/ccda`: each fixture follows one
//! part of the C-CDA R2.1 templates and each test checks that its clinical
//! facts come out once, in the right place, or are named by a warning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{convert_probe, resources};

#[test]
fn severity_and_reaction_under_an_allergy_do_not_become_allergies() {
    let converted = convert_probe("allergies-severity-reaction.xml");
    let allergies = resources(&converted.bundle, "AllergyIntolerance");
    // Two allergy observations in, two allergies out: the severity beside
    // the first is not an allergy of its own.
    assert_eq!(allergies.len(), 2, "{allergies:#?}");
    let penicillin = allergies[0];
    assert_eq!(penicillin["code"]["coding"][0]["code"], "7980");
    assert_eq!(penicillin["reaction"].as_array().unwrap().len(), 1);
    assert_eq!(
        penicillin["reaction"][0]["manifestation"][0]["coding"][0]["code"],
        "247472004"
    );
    assert_eq!(penicillin["reaction"][0]["severity"], "moderate");
    let peanut = allergies[1];
    assert_eq!(peanut["code"]["coding"][0]["code"], "256349002");
    assert_eq!(
        peanut["reaction"][0]["manifestation"][0]["coding"][0]["code"],
        "39579001"
    );
    assert_eq!(peanut["reaction"][0]["severity"], "severe");
    assert_eq!(peanut["reaction"][0]["onset"], "2008-06-12");
    assert_eq!(peanut["clinicalStatus"]["coding"][0]["code"], "active");
    assert!(converted.warnings.is_empty(), "{:?}", converted.warnings);
}

/// The result Observation whose LOINC code is `loinc`.
fn result<'a>(bundle: &'a serde_json::Value, loinc: &str) -> &'a serde_json::Value {
    resources(bundle, "Observation")
        .into_iter()
        .find(|o| o["code"]["coding"][0]["code"] == loinc)
        .unwrap_or_else(|| panic!("no Observation {loinc}"))
}

#[test]
fn result_values_keep_their_form_and_say_what_is_missing() {
    let converted = convert_probe("results-value-forms.xml");
    let bundle = &converted.bundle;
    assert_eq!(resources(bundle, "Observation").len(), 10);
    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    let warned = |at: &str, what: &str| {
        assert!(
            messages.iter().any(|m| m.contains(at) && m.contains(what)),
            "no warning {what:?} at {at}: {messages:#?}"
        );
    };

    // 152 THOUS/MCL: the number and the unit, but no UCUM system or code.
    let platelets = &result(bundle, "777-3")["valueQuantity"];
    assert_eq!(platelets["value"], 152);
    assert_eq!(platelets["unit"], "THOUS/MCL");
    assert!(
        platelets.get("system").is_none() && platelets.get("code").is_none(),
        "{platelets}"
    );
    warned("component/observation/value/translation", "\"THOUS/MCL\" is not UCUM");

    // > 500 mg/dL, < 5 mg/L, <= 10 U/L: comparators, not ranges.
    let glucose = &result(bundle, "2345-7");
    assert!(glucose.get("valueRange").is_none());
    assert_eq!(glucose["valueQuantity"]["comparator"], ">");
    assert_eq!(glucose["valueQuantity"]["value"], 500);
    assert_eq!(glucose["valueQuantity"]["code"], "mg/dL");
    let crp = &result(bundle, "1988-5")["valueQuantity"];
    assert_eq!(
        (crp["comparator"].as_str(), crp["value"].as_i64()),
        (Some("<"), Some(5))
    );
    let alt = &result(bundle, "1742-6")["valueQuantity"];
    assert_eq!(
        (alt["comparator"].as_str(), alt["value"].as_i64()),
        (Some("<="), Some(10))
    );

    // 2-5 /[HPF]: a closed range.
    let erythrocytes = &result(bundle, "13945-1")["valueRange"];
    assert_eq!(erythrocytes["low"]["value"], 2);
    assert_eq!(erythrocytes["high"]["value"], 5);

    assert_eq!(result(bundle, "5778-6")["valueString"], "donkergeel, helder");
    assert_eq!(result(bundle, "11529-5")["valueString"], "Geen maligniteit aangetoond.");

    // Values that cannot be read: absent with a reason, and reported.
    let imaging = result(bundle, "18748-4");
    assert_eq!(imaging["dataAbsentReason"]["coding"][0]["code"], "unknown");
    warned(
        "component[8]/observation/value",
        "ED value only refers to content outside",
    );
    let sodium = result(bundle, "2951-2");
    assert_eq!(sodium["dataAbsentReason"]["coding"][0]["code"], "unknown");
    warned("component[9]/observation/value", "value could not be read");
    // An explicit nullFlavor says why itself: absent, and no warning.
    let potassium = result(bundle, "2823-3");
    assert_eq!(potassium["dataAbsentReason"]["coding"][0]["code"], "temp-unknown");
    assert!(!messages.iter().any(|m| m.contains("component[10]")), "{messages:#?}");
    // Every result has a value or says why not.
    for observation in resources(bundle, "Observation") {
        let has_value = observation
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("value") || k == "dataAbsentReason");
        assert!(has_value, "{observation}");
    }
}

#[test]
fn a_discharge_summary_keeps_its_diagnoses_and_discharge_medication() {
    let converted = convert_probe("discharge-summary-sections.xml");
    let bundle = &converted.bundle;
    let conditions = resources(bundle, "Condition");
    assert_eq!(conditions.len(), 2, "{conditions:#?}");
    for condition in &conditions {
        assert_eq!(condition["category"][0]["coding"][0]["code"], "encounter-diagnosis");
    }
    assert_eq!(conditions[0]["code"]["coding"][0]["code"], "233604007");
    assert_eq!(conditions[1]["code"]["coding"][0]["code"], "385093006");

    // The encounter says which diagnosis is which.
    let encounter = resources(bundle, "Encounter")[0];
    let full_url = |condition: &serde_json::Value| {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["id"] == condition["id"])
            .unwrap()["fullUrl"]
            .clone()
    };
    let diagnoses = encounter["diagnosis"].as_array().unwrap();
    assert_eq!(diagnoses.len(), 2);
    assert_eq!(diagnoses[0]["use"]["coding"][0]["code"], "AD");
    assert_eq!(diagnoses[0]["condition"]["reference"], full_url(conditions[0]));
    assert_eq!(diagnoses[1]["use"]["coding"][0]["code"], "DD");
    assert_eq!(diagnoses[1]["condition"]["reference"], full_url(conditions[1]));

    let medication = resources(bundle, "MedicationStatement");
    assert_eq!(medication.len(), 2);
    assert_eq!(
        medication[0]["medicationCodeableConcept"]["coding"][0]["code"],
        "308191"
    );
    assert_eq!(medication[0]["effectivePeriod"]["end"], "2026-04-12");
    // Medication on admission, in an Admission Medication act (4.36).
    assert_eq!(
        medication[1]["medicationCodeableConcept"]["coding"][0]["code"],
        "745679"
    );

    // Each section points at what was made from it; the hospital course is narrative.
    let sections = bundle["entry"][0]["resource"]["section"].as_array().unwrap();
    let entries = |i: usize| sections[i]["entry"].as_array().map_or(0, Vec::len);
    assert_eq!(
        (entries(0), entries(1), entries(2), entries(3), entries(4)),
        (1, 0, 1, 1, 1)
    );
    assert!(
        sections[1]["text"]["div"]
            .as_str()
            .unwrap()
            .contains("omgezet naar oraal")
    );
    assert!(converted.warnings.is_empty(), "{:?}", converted.warnings);
}

/// The Observation made from the entry whose id extension is `extension`.
fn by_id<'a>(bundle: &'a serde_json::Value, extension: &str) -> &'a serde_json::Value {
    resources(bundle, "Observation")
        .into_iter()
        .find(|o| o["identifier"][0]["value"] == extension)
        .unwrap_or_else(|| panic!("no Observation {extension}"))
}

fn profile_of(resource: &serde_json::Value) -> Option<&str> {
    resource["meta"]["profile"][0].as_str()
}

#[test]
fn social_history_becomes_tobacco_alcohol_and_drug_use() {
    let converted = convert_probe("social-history.xml");
    let bundle = &converted.bundle;
    assert_eq!(resources(bundle, "Observation").len(), 7);
    let nl_core = |name: &str| format!("http://nictiz.nl/fhir/StructureDefinition/nl-core-{name}");

    let status = by_id(bundle, "SOCIAL-1");
    assert_eq!(profile_of(status), Some(nl_core("TobaccoUse").as_str()));
    // The zib's code first, the source's beside it.
    assert_eq!(status["code"]["coding"][0]["code"], "365980008");
    assert_eq!(status["code"]["coding"][1]["code"], "72166-2");
    assert_eq!(status["valueCodeableConcept"]["coding"][0]["code"], "8517006");
    let history = by_id(bundle, "SOCIAL-2");
    assert_eq!(profile_of(history), Some(nl_core("TobaccoUse").as_str()));
    assert_eq!(history["effectivePeriod"]["start"], "1985-06-01");
    assert_eq!(history["effectivePeriod"]["end"], "2019-03-01");

    let alcohol = by_id(bundle, "SOCIAL-3");
    assert_eq!(profile_of(alcohol), Some(nl_core("AlcoholUse").as_str()));
    assert_eq!(alcohol["code"]["coding"][0]["code"], "228273003");
    let amount = by_id(bundle, "SOCIAL-4");
    assert_eq!(profile_of(amount), Some(nl_core("AlcoholUse").as_str()));
    assert_eq!(amount["component"][0]["code"]["coding"][0]["code"], "897148007");
    assert_eq!(amount["component"][0]["valueQuantity"]["value"], 6);
    assert_eq!(amount["component"][0]["valueQuantity"]["code"], "{glass}/wk");

    let drugs = by_id(bundle, "SOCIAL-5");
    assert_eq!(profile_of(drugs), Some(nl_core("DrugUse").as_str()));
    assert_eq!(drugs["valueCodeableConcept"]["coding"][0]["code"], "228367002");

    // A status outside AlcoholUse's required value set: kept, not profiled, said.
    let social = by_id(bundle, "SOCIAL-6");
    assert_eq!(profile_of(social), None);
    assert_eq!(social["valueCodeableConcept"]["coding"][0]["code"], "43783005");
    assert!(
        converted
            .warnings
            .iter()
            .any(|w| w.location.contains("entry[6]/observation/value") && w.message.contains("nl-core-AlcoholUse")),
        "{:?}",
        converted.warnings
    );
    let occupation = by_id(bundle, "SOCIAL-7");
    assert_eq!(profile_of(occupation), None);
    assert_eq!(occupation["category"][0]["coding"][0]["code"], "social-history");
    assert_eq!(occupation["valueString"], "docent basisonderwijs");
    assert_eq!(converted.warnings.len(), 1, "{:?}", converted.warnings);
}

#[test]
fn functional_and_mental_status_become_nl_core_status_observations() {
    let converted = convert_probe("functional-mental-status.xml");
    let bundle = &converted.bundle;
    assert_eq!(resources(bundle, "Observation").len(), 3);
    let profile = Some("http://nictiz.nl/fhir/StructureDefinition/nl-core-FunctionalOrMentalStatus");

    let walking = by_id(bundle, "STATUS-1");
    assert_eq!(profile_of(walking), profile);
    assert_eq!(walking["category"][0]["coding"][0]["code"], "118228005");
    assert_eq!(walking["code"]["coding"][0]["code"], "282097004");
    assert_eq!(walking["valueCodeableConcept"]["coding"][0]["code"], "165245003");
    assert_eq!(walking["effectiveDateTime"], "2026-04-10");

    // Coded in LOINC: kept, not profiled, said.
    let loinc = by_id(bundle, "STATUS-2");
    assert_eq!(profile_of(loinc), None);
    assert_eq!(loinc["valueCodeableConcept"]["coding"][0]["code"], "165245003");

    let cognition = by_id(bundle, "STATUS-3");
    assert_eq!(profile_of(cognition), profile);
    assert_eq!(cognition["category"][0]["coding"][0]["code"], "384821006");

    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].contains("/entry/organizer): not mapped: code"),
        "{messages:#?}"
    );
    assert!(
        messages[1].contains("/entry[2]/observation): status not coded in SNOMED CT"),
        "{messages:#?}"
    );
}

#[test]
fn advance_directives_become_consents_for_the_zibs_that_fit() {
    let converted = convert_probe("advance-directives.xml");
    let bundle = &converted.bundle;
    let consents = resources(bundle, "Consent");
    assert_eq!(consents.len(), 3);
    let nl_core = |name: &str| format!("http://nictiz.nl/fhir/StructureDefinition/nl-core-{name}");

    let resuscitation = consents[0];
    assert_eq!(profile_of(resuscitation), Some(nl_core("TreatmentDirective2").as_str()));
    assert_eq!(resuscitation["scope"]["coding"][0]["code"], "treatment");
    assert_eq!(resuscitation["category"][0]["coding"][0]["code"], "129125009");
    assert_eq!(resuscitation["provision"]["type"], "deny");
    assert_eq!(resuscitation["provision"]["code"][0]["coding"][0]["code"], "89666000");
    assert_eq!(resuscitation["provision"]["period"]["start"], "2026-03-03");

    let statement = consents[1];
    assert_eq!(profile_of(statement), Some(nl_core("AdvanceDirective").as_str()));
    assert_eq!(statement["scope"]["coding"][0]["code"], "adr");
    assert_eq!(statement["provision"]["code"][0]["coding"][0]["code"], "NR");
    assert_eq!(
        statement["sourceAttachment"]["url"],
        "https://dossier.example.nl/documenten/nr-verklaring-1.pdf"
    );

    // The C-CDA shape keeps type and value, without a profile, and says so.
    let other = consents[2];
    assert_eq!(profile_of(other), None);
    assert_eq!(other["category"][1]["coding"][0]["code"], "304251008");
    assert_eq!(other["provision"]["code"][0]["coding"][0]["code"], "304253006");
    assert!(other["provision"].get("type").is_none());
    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("organizer/component/observation): advance directive not coded")),
        "{messages:#?}"
    );
}

#[test]
fn medical_equipment_becomes_device_use_statements_with_their_devices() {
    let converted = convert_probe("medical-equipment.xml");
    let bundle = &converted.bundle;
    let uses = resources(bundle, "DeviceUseStatement");
    let devices = resources(bundle, "Device");
    assert_eq!((uses.len(), devices.len()), (2, 2));
    let full_url = |resource: &serde_json::Value| {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["id"] == resource["id"])
            .unwrap()["fullUrl"]
            .clone()
    };

    let hearing = uses[0];
    assert_eq!(
        profile_of(hearing),
        Some("http://nictiz.nl/fhir/StructureDefinition/nl-core-MedicalDevice")
    );
    assert_eq!(hearing["status"], "active");
    assert_eq!(hearing["timingPeriod"]["start"], "2021-09-15");
    assert_eq!(hearing["device"]["reference"], full_url(devices[0]));
    assert_eq!(
        profile_of(devices[0]),
        Some("http://nictiz.nl/fhir/StructureDefinition/nl-core-MedicalDevice.Product")
    );
    assert_eq!(devices[0]["type"]["coding"][0]["code"], "6012004");
    assert_eq!(devices[0]["identifier"][0]["value"], "(01)08712345678906(21)HA-4471");
    assert_eq!(devices[0]["deviceName"][0]["name"], "Voorbeeld HA-200");

    // The implant procedure is a Procedure; the locally coded rollator keeps
    // its code without the product profile, and is reported.
    assert_eq!(
        resources(bundle, "Procedure")[0]["code"]["coding"][0]["code"],
        "307280005"
    );
    assert_eq!(uses[1]["device"]["reference"], full_url(devices[1]));
    assert_eq!(profile_of(devices[1]), None);
    assert_eq!(devices[1]["type"]["coding"][0]["code"], "ROL-4");
    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("component[2]/supply/participant/participantRole): device kind not coded")),
        "{messages:#?}"
    );
}

#[test]
fn payers_become_nl_core_coverages_with_their_insurers() {
    let converted = convert_probe("payers.xml");
    let bundle = &converted.bundle;
    let coverages = resources(bundle, "Coverage");
    assert_eq!(coverages.len(), 2);
    let basic = coverages[0];
    assert_eq!(
        profile_of(basic),
        Some("http://nictiz.nl/fhir/StructureDefinition/nl-core-Payer.InsuranceCompany")
    );
    assert_eq!(basic["identifier"][0]["value"], "POLICY-1");
    assert_eq!(basic["type"]["coding"][0]["code"], "B");
    assert_eq!(basic["subscriberId"], "VZ-0011223344");
    assert_eq!(basic["relationship"]["coding"][0]["code"], "self");
    assert_eq!(basic["period"]["start"], "2026-01-01");
    let insurer = resources(bundle, "Organization")
        .into_iter()
        .find(|o| o["name"] == "Zorgverzekeraar Voorbeeld")
        .unwrap();
    assert_eq!(
        profile_of(insurer),
        Some("http://nictiz.nl/fhir/StructureDefinition/nl-core-Payer-Organization")
    );
    assert_eq!(
        insurer["identifier"][0]["system"],
        "http://fhir.nl/fhir/NamingSystem/uzovi"
    );
    assert_eq!(insurer["identifier"][0]["value"], "3311");
    assert_eq!(basic["payor"][0]["display"], "Zorgverzekeraar Voorbeeld");

    // A type outside the Vektis list is left out, and said.
    let extra = coverages[1];
    assert!(extra.get("type").is_none());
    assert_eq!(extra["payor"][0]["display"], "Aanvullend Voorbeeld");
    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].contains("entryRelationship[2]/act/code): insurance type is not a Vektis type"));
}

#[test]
fn family_history_becomes_one_family_member_history_per_relative() {
    let converted = convert_probe("family-history.xml");
    let bundle = &converted.bundle;
    let relatives = resources(bundle, "FamilyMemberHistory");
    assert_eq!(relatives.len(), 2);
    let father = relatives[0];
    assert_eq!(father["identifier"][0]["value"], "FAMILY-1");
    assert_eq!(father["relationship"]["coding"][0]["code"], "FTH");
    assert_eq!(father["sex"]["coding"][0]["code"], "male");
    assert_eq!(father["bornDate"], "1938");
    let conditions = father["condition"].as_array().unwrap();
    assert_eq!(conditions.len(), 2);
    assert_eq!(conditions[0]["code"]["coding"][0]["code"], "22298006");
    assert_eq!(conditions[0]["onsetAge"]["value"], 57);
    assert_eq!(conditions[0]["onsetAge"]["code"], "a");
    assert_eq!(conditions[0]["contributedToDeath"], true);
    assert_eq!(conditions[1]["code"]["coding"][0]["code"], "44054006");
    assert_eq!(conditions[1]["onsetPeriod"]["start"], "1990");
    assert!(conditions[1].get("contributedToDeath").is_none());
    let mother = relatives[1];
    assert_eq!(mother["relationship"]["coding"][0]["code"], "MTH");
    assert_eq!(mother["condition"][0]["code"]["coding"][0]["code"], "254837009");
    assert!(converted.warnings.is_empty(), "{:?}", converted.warnings);
}

#[test]
fn a_severity_that_cannot_be_placed_is_reported_and_never_an_allergy() {
    let converted = convert_probe("allergies-unclear-severity.xml");
    let allergies = resources(&converted.bundle, "AllergyIntolerance");
    assert_eq!(allergies.len(), 4, "{allergies:#?}");
    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    let warned = |at: &str, what: &str| {
        assert!(
            messages.iter().any(|m| m.contains(at) && m.contains(what)),
            "no warning {what:?} at {at}: {messages:#?}"
        );
    };
    // Beside two allergies: on neither of them.
    assert!(allergies[0].get("reaction").is_none() && allergies[1].get("reaction").is_none());
    warned(
        "entry/act/entryRelationship[3]/observation)",
        "beside 2 allergy observations",
    );
    // No reaction to carry it: a reaction of unknown manifestation.
    let morphine = allergies[2];
    assert_eq!(morphine["reaction"][0]["severity"], "mild");
    assert_eq!(
        morphine["reaction"][0]["manifestation"][0]["extension"][0]["valueCode"],
        "unknown"
    );
    warned(
        "entry[2]/act/entryRelationship/observation/entryRelationship/observation)",
        "severity without a reaction",
    );
    // "Moderate to severe" is none of FHIR's levels.
    let ibuprofen = allergies[3];
    assert_eq!(
        ibuprofen["reaction"][0]["manifestation"][0]["coding"][0]["code"],
        "422587007"
    );
    assert!(ibuprofen["reaction"][0].get("severity").is_none());
    warned("entry[3]/act", "severity is not one of mild, moderate or severe");
    assert_eq!(messages.len(), 3, "{messages:#?}");
}

#[test]
fn what_describes_a_problem_concern_is_no_problem_of_its_own() {
    let converted = convert_probe("problem-concern-parts.xml");
    let conditions = resources(&converted.bundle, "Condition");
    assert_eq!(conditions.len(), 1, "{conditions:#?}");
    assert_eq!(conditions[0]["code"]["coding"][0]["code"], "195967001");
    let messages: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages.iter().all(|m| m.contains("about the concern, not a problem")),
        "{messages:#?}"
    );
}
