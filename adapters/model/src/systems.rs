//! Code-system and naming-system URIs, in one place so every adapter writes
//! the same ones (the Dutch ones as the nl-core profiles use them).

/// Burgerservicenummer, the Dutch citizen service number.
pub const BSN: &str = "http://fhir.nl/fhir/NamingSystem/bsn";
/// UZI-register abonneenummer (URA) of a care organisation.
pub const URA: &str = "http://fhir.nl/fhir/NamingSystem/ura";
/// AGB code (Vektis) of a care provider or organisation.
pub const AGB: &str = "http://fhir.nl/fhir/NamingSystem/agb-z";
/// UZI number of a person.
pub const UZI_PERSON: &str = "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers";
/// BIG registration number.
pub const BIG: &str = "http://fhir.nl/fhir/NamingSystem/big";
/// UZI number of a system (server certificate).
pub const UZI_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/uzi-nr-sys";
/// UZOVI code of a health insurer.
pub const UZOVI: &str = "http://fhir.nl/fhir/NamingSystem/uzovi";

/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// UCUM units.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// ICD-10 (WHO).
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
/// ICD-9-CM.
pub const ICD9CM: &str = "http://hl7.org/fhir/sid/icd-9-cm";
/// CVX vaccine codes.
pub const CVX: &str = "http://hl7.org/fhir/sid/cvx";
/// RFC 3986 URIs, used for message ids without an authority of their own.
pub const URI: &str = "urn:ietf:rfc:3986";
/// Vektis insurance types (`VerzekeringssoortCodelijst`: A, AT, B, BZ, H, T),
/// the codes zib Payer allows in `Coverage.type`.
pub const VEKTIS_INSURANCE_TYPE: &str = "urn:oid:2.16.840.1.113883.2.4.3.11.60.101.5.1";
/// zib `TelecomType` codes outside HL7 (LL landline, FAX).
pub const ZIB_TELECOM_TYPE: &str = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.22.1";

/// The v2 tables and v3 code systems the HL7 v2 maps use.
pub mod hl7 {
    /// v2 table 0203 identifier type.
    pub const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
    /// v2 table 0078 interpretation codes (abnormal flags).
    pub const V2_0078: &str = "http://terminology.hl7.org/CodeSystem/v2-0078";
    /// v3 `ObservationInterpretation`.
    pub const V3_OBSERVATION_INTERPRETATION: &str =
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
    /// v3 `ActCode` (encounter class).
    pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    /// v3 `MaritalStatus`.
    pub const V3_MARITAL_STATUS: &str = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus";
    /// v3 `RoleCode`.
    pub const V3_ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
    /// Observation category.
    pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
    /// `AllergyIntolerance` clinical status.
    pub const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
    /// Condition clinical status.
    pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    /// Provenance participant type.
    pub const PROVENANCE_PARTICIPANT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
    /// v3 `DataOperation` (Provenance.activity).
    pub const V3_DATA_OPERATION: &str = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
    /// v3 `AddressUse` (also the zib telecom types MC mobile and PG pager).
    pub const V3_ADDRESS_USE: &str = "http://terminology.hl7.org/CodeSystem/v3-AddressUse";
}

/// Extension URLs.
pub mod ext {
    /// Own surname prefix (voorvoegsel).
    pub const OWN_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix";
    /// Own surname without prefix.
    pub const OWN_NAME: &str = "http://hl7.org/fhir/StructureDefinition/humanname-own-name";
    /// Partner's surname prefix.
    pub const PARTNER_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix";
    /// Partner's surname without prefix.
    pub const PARTNER_NAME: &str = "http://hl7.org/fhir/StructureDefinition/humanname-partner-name";
    /// Whether a given name is a full name (BR) or an initial (IN).
    pub const NAME_QUALIFIER: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier";
    /// A code that refines a coded element (nl-core: the telecom type on
    /// `ContactPoint.system`).
    pub const CODE_SPECIFICATION: &str = "http://nictiz.nl/fhir/StructureDefinition/ext-CodeSpecification";
    /// The time of day of a birth, on `Patient.birthDate`.
    pub const BIRTH_TIME: &str = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
    /// Source data the mapping could not place elsewhere (zorgpoort's own).
    pub const UNMAPPED_SOURCE: &str = "https://zorgpoort.nl/fhir/StructureDefinition/unmapped-source";
}

/// nl-core profile URLs.
pub mod profile {
    /// Patient.
    pub const PATIENT: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient";
    /// Contact person (`RelatedPerson`).
    pub const CONTACT_PERSON: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-ContactPerson";
    /// Health professional (Practitioner).
    pub const PRACTITIONER: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthProfessional-Practitioner";
    /// Health professional (`PractitionerRole`).
    pub const PRACTITIONER_ROLE: &str =
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthProfessional-PractitionerRole";
    /// Healthcare provider (Organization).
    pub const ORGANIZATION: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthcareProvider-Organization";
    /// Encounter.
    pub const ENCOUNTER: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Encounter";
    /// Laboratory test result (Observation).
    pub const LAB_RESULT: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-LaboratoryTestResult";
    /// Problem (Condition).
    pub const PROBLEM: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Problem";
    /// Allergy intolerance.
    pub const ALLERGY: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-AllergyIntolerance";
    /// Procedure.
    pub const PROCEDURE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Procedure-event";
    /// Vaccination (Immunization).
    pub const VACCINATION: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Vaccination-event";
    /// Health insurance (Coverage): zib Payer with an insurance company.
    pub const COVERAGE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Payer.InsuranceCompany";
    /// The insurance company (Organization) a Coverage is paid by.
    pub const PAYER_ORGANIZATION: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Payer-Organization";
}

/// Dutch identifiers by the OID that HL7 v3, CDA and EDIFACT use, with the
/// naming system nl-core asks for instead.
const NAMING_SYSTEM_OIDS: [(&str, &str); 7] = [
    ("2.16.840.1.113883.2.4.6.3", BSN),
    ("2.16.528.1.1007.3.3", URA),
    ("2.16.840.1.113883.2.4.6.1", AGB),
    ("2.16.528.1.1007.3.1", UZI_PERSON),
    ("2.16.528.1.1007.3.2", UZI_SYSTEM),
    ("2.16.528.1.1007.5.1", BIG),
    ("2.16.840.1.113883.2.4.6.4", UZOVI),
];

/// The nl-core naming system for a Dutch identifier's OID (without `urn:oid:`).
pub fn naming_system_of_oid(oid: &str) -> Option<&'static str> {
    NAMING_SYSTEM_OIDS
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, system)| *system)
}

/// The BSN 11-check ("elfproef"): nine digits d1..d9 with
/// 9·d1 + 8·d2 + … + 2·d8 − 1·d9 divisible by 11, and not all zero.
pub fn is_valid_bsn(bsn: &str) -> bool {
    let b = bsn.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) || b.iter().all(|&d| d == b'0') {
        return false;
    }
    let sum: i32 = b
        .iter()
        .zip([9, 8, 7, 6, 5, 4, 3, 2, -1])
        .map(|(&d, w)| i32::from(d - b'0') * w)
        .sum();
    sum % 11 == 0
}

#[cfg(test)]
mod tests {
    use super::is_valid_bsn;

    #[test]
    fn bsn_eleven_check() {
        assert!(is_valid_bsn("111222333"));
        assert!(is_valid_bsn("123456782"));
        assert!(!is_valid_bsn("123456789"));
        assert!(!is_valid_bsn("000000000"));
        assert!(!is_valid_bsn("12345678"));
        assert!(!is_valid_bsn("12345678a"));
    }
}
