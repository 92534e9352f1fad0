//! The public API on small resources: paths, choice types, primitive
//! extensions, variables, errors.

use serde_json::json;
use zorgpoort_fhirpath::{Context, EvalError, Expression, InferredModel, Model, ParseError, PathStep, as_boolean};

fn eval(expression: &str, resource: &serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
    let parsed = Expression::parse(expression).map_err(|e| e.to_string())?;
    let result = parsed.evaluate(&Context::new(resource)).map_err(|e| e.to_string())?;
    Ok(result.iter().map(zorgpoort_fhirpath::Item::to_json).collect())
}

fn truth(expression: &str, resource: &serde_json::Value) -> Option<bool> {
    let parsed = Expression::parse(expression).unwrap_or_else(|e| panic!("{expression}: {e}"));
    let result = parsed
        .evaluate(&Context::new(resource))
        .unwrap_or_else(|e| panic!("{expression}: {e}"));
    as_boolean(&result).unwrap_or_else(|e| panic!("{expression}: {e}"))
}

fn patient() -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "id": "p1",
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}, {"use": "usual", "given": ["Jim"]}],
        "gender": "male",
        "_gender": {"id": "g"},
        "active": true
    })
}

#[test]
fn paths_and_filters() {
    let p = patient();
    assert_eq!(
        eval("Patient.name.given", &p),
        Ok(vec![json!("Peter"), json!("James"), json!("Jim")])
    );
    assert_eq!(
        eval("name.where(use = 'usual').given.first()", &p),
        Ok(vec![json!("Jim")])
    );
    assert_eq!(eval("Patient.name.given.count()", &p), Ok(vec![json!(3)]));
    assert_eq!(eval("name[1].given", &p), Ok(vec![json!("Jim")]));
    assert_eq!(truth("Patient.active", &p), Some(true));
    assert_eq!(truth("Patient.birthDate = @1974-12-25", &p), Some(true));
    assert_eq!(truth("Patient.birthDate < @1974-12-25T10:00", &p), None);
    assert_eq!(
        truth("name.exists(family = 'Chalmers') and gender in ('male' | 'female')", &p),
        Some(true)
    );
    assert_eq!(truth("Patient.deceased.exists()", &p), Some(false));
}

#[test]
fn primitive_extensions_are_reachable() {
    let p = patient();
    assert_eq!(truth("birthDate.extension.exists()", &p), Some(true));
    assert_eq!(
        eval(
            "birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value",
            &p
        ),
        Ok(vec![json!("1974-12-25T14:35:45-05:00")])
    );
    assert_eq!(truth("birthDate.hasValue()", &p), Some(true));
    assert_eq!(eval("gender.id", &p), Ok(vec![json!("g")]));
    let only_extension =
        json!({"resourceType": "Patient", "_birthDate": {"extension": [{"url": "u", "valueCode": "unknown"}]}});
    assert_eq!(
        truth("birthDate.exists() and birthDate.hasValue().not()", &only_extension),
        Some(true)
    );
}

#[test]
fn choice_types() {
    let observation = json!({"resourceType": "Observation", "valueQuantity": {"value": 185, "unit": "lbs", "system": "http://unitsofmeasure.org", "code": "[lb_av]"}});
    assert_eq!(truth("Observation.value.exists()", &observation), Some(true));
    assert_eq!(truth("Observation.value is Quantity", &observation), Some(true));
    assert_eq!(
        truth("Observation.value.ofType(Quantity).value > 180", &observation),
        Some(true)
    );
    assert_eq!(
        truth("Observation.value.ofType(string).exists()", &observation),
        Some(false)
    );
    assert_eq!(truth("Observation.value > 180 '[lb_av]'", &observation), Some(true));
}

#[test]
fn variables_and_errors() {
    let p = patient();
    let expression = Expression::parse("name.given contains %wanted").unwrap_or_else(|e| panic!("{e}"));
    let context = Context::new(&p).with_variable("wanted", vec![zorgpoort_fhirpath::Item::String("Jim".into())]);
    assert_eq!(
        expression.evaluate(&context).map(|r| as_boolean(&r)),
        Ok(Ok(Some(true)))
    );
    assert!(matches!(
        Expression::parse("name.given.frobnicate()"),
        Err(ParseError::UnknownFunction { position: 11, .. })
    ));
    let undefined = Expression::parse("%nope").map(|e| e.evaluate(&Context::new(&p)));
    assert!(matches!(undefined, Ok(Err(EvalError::UndefinedVariable { .. }))));
    let many =
        Expression::parse("name.given = 'x' and true").map(|e| e.evaluate(&Context::new(&p)).map(|r| as_boolean(&r)));
    assert_eq!(many, Ok(Ok(Ok(Some(false)))));
    assert!(matches!(
        Expression::parse("name.given.single()").map(|e| e.evaluate(&Context::new(&p))),
        Ok(Err(EvalError::NotSingleton { .. }))
    ));
}

#[test]
fn expressions_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Expression>();
}

#[test]
fn an_element_as_the_focus() {
    let resource = patient();
    let context = Context::new(&resource);
    let steps = [PathStep::Key("name"), PathStep::Index(0)];
    let name = context.element(&steps, Some("HumanName")).expect("the first name");
    let focused = context.clone().with_focus(vec![name]);
    let family = Expression::parse("family").expect("parses");
    assert_eq!(
        family.evaluate(&focused).expect("evaluates")[0].to_json(),
        resource["name"][0]["family"]
    );
    let is_name = Expression::parse("$this is HumanName and %resource is Patient").expect("parses");
    assert_eq!(
        as_boolean(&is_name.evaluate(&focused).expect("evaluates")).expect("one boolean"),
        Some(true)
    );
    assert!(context.element(&[PathStep::Key("contact")], None).is_none());
}

/// A model that knows one value set, to answer `memberOf`.
struct OneValueSet;

impl Model for OneValueSet {
    fn element_type(&self, _parent: &str, _key: &str) -> Option<String> {
        None
    }

    fn is_resource_type(&self, name: &str) -> bool {
        name == "Patient"
    }

    fn member_of(&self, value: &serde_json::Value, value_set: &str) -> Option<bool> {
        (value_set == "urn:vs").then(|| value.as_str() == Some("male"))
    }
}

#[test]
fn member_of_asks_the_model() {
    let resource = patient();
    let ask = |text: &str, model: &dyn Model| {
        let context = Context::new(&resource).with_model(model);
        as_boolean(
            &Expression::parse(text)
                .expect("parses")
                .evaluate(&context)
                .expect("evaluates"),
        )
        .expect("one boolean")
    };
    assert_eq!(ask("gender.memberOf('urn:vs')", &OneValueSet), Some(true));
    assert_eq!(ask("'female'.memberOf('urn:vs')", &OneValueSet), Some(false));
    assert_eq!(ask("gender.memberOf('urn:other')", &OneValueSet), None);
    assert_eq!(ask("gender.memberOf('urn:vs')", &InferredModel), None);
}
