//! Mapping files: the shipped ones parse, and mistakes name the TOML key or line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use zorgpoort_ecd::Mapping;

#[test]
fn the_builtin_mappings_parse_and_carry_their_names() {
    assert_eq!(Mapping::BUILTIN, ["zorgpoort", "zorgdossier-wide", "carebook-json"]);
    for name in Mapping::BUILTIN {
        let mapping = Mapping::builtin(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(mapping.name(), *name);
    }
    assert!(Mapping::builtin("nonesuch").is_none());
}

fn error(text: &str) -> String {
    Mapping::from_toml(text).unwrap_err().to_string()
}

const MINIMAL: &str = "name = \"t\"\nformat = \"csv\"\nkey = \"nr\"\n[records.client]\nbsn = \"BSN\"\n";

#[test]
fn a_minimal_mapping_parses() {
    assert_eq!(Mapping::from_toml(MINIMAL).unwrap().name(), "t");
}

#[test]
fn unknown_fields_name_the_key_and_the_known_ones() {
    let text = format!("{MINIMAL}[records.diagnosis]\ncod = \"Code\"\n");
    assert_eq!(
        error(&text),
        "mapping records.diagnosis.cod: unknown field (known for diagnosis: code, system, text, onset, end; and kind, repeat, array)"
    );
    assert_eq!(
        error(&format!("{MINIMAL}[records.hobby]\nx = \"y\"\n")),
        "mapping records.hobby: unknown record kind (known: client, contact, diagnosis, medication, allergy, functional_status, wound, measurement, goal, advance_directive, treatment_directive)"
    );
    assert!(error(&format!("colour = 1\n{MINIMAL}")).starts_with("mapping colour: unknown key (known: name,"));
    assert!(
        error(&format!("{MINIMAL}[codes.sex]\nm = \"a|b|c\"\n")).starts_with("mapping codes.sex: unknown code list")
    );
}

#[test]
fn bad_toml_names_the_line() {
    let e = error("name = \"t\"\nformat = \"csv\"\nkey = [\n");
    assert!(e.starts_with("mapping line 3: "), "{e}");
}

#[test]
fn bad_values_name_the_key_and_why() {
    assert_eq!(
        error(&MINIMAL.replace("\"csv\"", "\"xml\"")),
        "mapping format: \"xml\" is not \"csv\" or \"json\""
    );
    assert_eq!(
        error(&format!("date_formats = [\"%d-%q-%Y\"]\n{MINIMAL}")),
        "mapping date_formats[0]: unknown directive %q (known: %Y %m %d %H %M %S %%)"
    );
    assert_eq!(
        error(&format!("delimiter = \"#\"\n{MINIMAL}")),
        "mapping delimiter: \"#\" is not one of \";\", \",\", \"tab\", \"|\", \"auto\""
    );
    assert_eq!(
        error(&format!("{MINIMAL}[codes.gender]\nm = \"system-only\"\n")),
        "mapping codes.gender.m: expected \"system|code|display\" with a code"
    );
    assert_eq!(
        error(&format!(
            "{MINIMAL}[records.diagnosis]\nrepeat = 2\ntext = \"Diagnose\"\n"
        )),
        "mapping records.diagnosis.repeat: every column of a repeated record must contain {n}"
    );
    assert_eq!(
        error(&format!(
            "kind_column = \"soort\"\n{MINIMAL}[records.goal]\ntext = \"doel\"\n"
        )),
        "mapping records.goal.kind: missing: with kind_column set, each record kind needs the value that marks its rows"
    );
    assert_eq!(
        error(&MINIMAL.replace("key = \"nr\"\n", "")),
        "mapping key: missing (the client key column or field)"
    );
    assert_eq!(
        error(
            "name = \"t\"\nformat = \"json\"\nkey = \"id\"\n[records.client]\nbsn = \"bsn\"\n[records.wound]\ntype = \"t\"\n"
        ),
        "mapping records.wound.array: missing: a JSON export needs the path of the array holding these records"
    );
}

#[test]
fn the_builtin_names_follow_the_shipped_files() {
    // `builtin` and `detect` find the shipped files by their `name` key.
    for (name, text) in [
        ("zorgpoort", include_str!("../mappings/zorgpoort.toml")),
        ("zorgdossier-wide", include_str!("../mappings/zorgdossier-wide.toml")),
        ("carebook-json", include_str!("../mappings/carebook-json.toml")),
    ] {
        assert_eq!(Mapping::from_toml(text).unwrap().name(), name);
    }
}
