//! Dutch addresses as nl-core wants them: the street line written whole in
//! `Address.line`, with street name, house number and house number suffix
//! repeated in the `iso21090-ADXP-*` extensions on `_line`, so every adapter
//! writes the same shape.

use std::borrow::Cow;

use crate::{Object, Value};

/// Extension URL of the street name part of an address line.
pub const STREET_NAME: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetName";
/// Extension URL of the house number part of an address line.
pub const HOUSE_NUMBER: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-houseNumber";
/// Extension URL of the house number suffix ("A", "bis") of an address line.
pub const BUILDING_NUMBER_SUFFIX: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-buildingNumberSuffix";

/// The parts of a Dutch street line: street name, house number and house
/// number suffix, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreetLine<'a> {
    /// Street name (`iso21090-ADXP-streetName`).
    pub street_name: Option<Cow<'a, str>>,
    /// House number (`iso21090-ADXP-houseNumber`).
    pub house_number: Option<Cow<'a, str>>,
    /// House number suffix (`iso21090-ADXP-buildingNumberSuffix`).
    pub building_number_suffix: Option<Cow<'a, str>>,
}

impl<'a> StreetLine<'a> {
    /// The line text: the parts there are joined by a space ("Dorpsstraat 12
    /// A"); `None` when that is empty.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        let mut parts = [&self.street_name, &self.house_number, &self.building_number_suffix]
            .into_iter()
            .flatten();
        let first = parts.next()?;
        let text = match parts.next() {
            None => first.clone(),
            Some(second) => {
                let mut joined = String::with_capacity(first.len() + second.len() + 16);
                joined.push_str(first);
                for part in std::iter::once(second).chain(parts) {
                    joined.push(' ');
                    joined.push_str(part);
                }
                Cow::Owned(joined)
            }
        };
        (!text.is_empty()).then_some(text)
    }

    /// The element that goes on `_line` for this line: the ADXP extensions
    /// of the parts there are, in street, number, suffix order; an empty
    /// object when there are none.
    pub fn into_extension(self) -> Object<'a> {
        // As `Value`s straight away: a `Vec<Object>` would be copied into
        // one. Room for the usual two parts, street and house number.
        let mut extensions = Vec::with_capacity(2);
        for (url, value) in [
            (STREET_NAME, self.street_name),
            (HOUSE_NUMBER, self.house_number),
            (BUILDING_NUMBER_SUFFIX, self.building_number_suffix),
        ] {
            if let Some(value) = value {
                extensions.push(Value::Obj(Object::new().with("url", url).with("valueString", value)));
            }
        }
        Object::new().with("extension", extensions)
    }
}

/// `Address.line` with its `_line` kept aligned: every line has a slot on
/// `_line`, `null` where it has no extensions, and `_line` is left out
/// when no line has any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressLines<'a> {
    lines: Vec<Value<'a>>,
    extensions: Vec<Value<'a>>,
}

impl<'a> AddressLines<'a> {
    /// No lines yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a line without extensions.
    pub fn push(&mut self, line: impl Into<Cow<'a, str>>) {
        self.lines.push(Value::Str(line.into()));
        self.extensions.push(Value::Null);
    }

    /// Adds a street line: `line` as the text when given (a sender's own
    /// spelling of the whole line), else the parts joined (see
    /// [`StreetLine::text`]), with the parts as ADXP extensions. Adds nothing
    /// when there is no text at all, so parts never stand without a line.
    pub fn push_street(&mut self, line: Option<Cow<'a, str>>, parts: StreetLine<'a>) {
        let Some(text) = line.or_else(|| parts.text()) else {
            return;
        };
        self.lines.push(Value::Str(text));
        let extension = parts.into_extension();
        self.extensions.push(if extension.is_empty() {
            Value::Null
        } else {
            Value::Obj(extension)
        });
    }

    /// How many lines there are.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The `line` and `_line` values; `_line` is `None` when no line has
    /// extensions.
    pub fn into_values(self) -> (Value<'a>, Option<Value<'a>>) {
        let meta = self
            .extensions
            .iter()
            .any(|e| !matches!(e, Value::Null))
            .then_some(Value::Arr(self.extensions));
        (Value::from(self.lines), meta)
    }
}

/// An nl-core Address, built from its parts; the elements come out in the
/// order use, type, line, `_line`, city, district, state, postalCode,
/// country, and empty ones are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Address<'a> {
    /// `Address.use` (home, work, temp, old, billing).
    pub address_use: Option<&'static str>,
    /// `Address.type` (postal, physical, both).
    pub address_type: Option<&'static str>,
    /// `Address.line` and `_line`.
    pub lines: AddressLines<'a>,
    /// `Address.city`.
    pub city: Option<Cow<'a, str>>,
    /// `Address.district` (county, gemeente).
    pub district: Option<Cow<'a, str>>,
    /// `Address.state` (province).
    pub state: Option<Cow<'a, str>>,
    /// `Address.postalCode`.
    pub postal_code: Option<Cow<'a, str>>,
    /// `Address.country`.
    pub country: Option<Cow<'a, str>>,
}

impl<'a> Address<'a> {
    /// The Address element; an empty object (which [`Object::with`] does not
    /// store) when nothing is known.
    pub fn into_object(self) -> Object<'a> {
        let (line, line_meta) = self.lines.into_values();
        Object::new()
            .with("use", self.address_use)
            .with("type", self.address_type)
            .with("line", line)
            .with("_line", line_meta)
            .with("city", self.city)
            .with("district", self.district)
            .with("state", self.state)
            .with("postalCode", self.postal_code)
            .with("country", self.country)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{Address, AddressLines, StreetLine};

    fn street<'a>(name: Option<&'a str>, number: Option<&'a str>, suffix: Option<&'a str>) -> StreetLine<'a> {
        StreetLine {
            street_name: name.map(Cow::Borrowed),
            house_number: number.map(Cow::Borrowed),
            building_number_suffix: suffix.map(Cow::Borrowed),
        }
    }

    #[test]
    fn street_line_text_joins_the_parts() {
        assert_eq!(
            street(Some("Dorpsstraat"), Some("12"), Some("A")).text().as_deref(),
            Some("Dorpsstraat 12 A")
        );
        assert_eq!(street(None, Some("12"), None).text().as_deref(), Some("12"));
        assert_eq!(street(None, None, None).text(), None);
        assert_eq!(street(Some(""), None, None).text(), None);
    }

    #[test]
    fn street_line_extension_names_each_part() {
        assert_eq!(
            street(Some("Dorpsstraat"), None, Some("A")).into_extension().to_json(),
            concat!(
                r#"{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetName","valueString":"Dorpsstraat"},"#,
                r#"{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-buildingNumberSuffix","valueString":"A"}]}"#
            )
        );
        assert!(street(None, None, None).into_extension().is_empty());
    }

    #[test]
    fn lines_keep_line_meta_aligned() {
        let mut lines = AddressLines::new();
        assert!(lines.is_empty());
        lines.push_street(None, street(Some("Dorpsstraat"), Some("12"), None));
        lines.push("Postbus 5");
        assert_eq!(lines.len(), 2);
        let (line, meta) = lines.into_values();
        let address = crate::Object::new().with("line", line).with("_line", meta).to_json();
        assert!(
            address.starts_with(r#"{"line":["Dorpsstraat 12","Postbus 5"],"_line":[{"extension":[{"#),
            "{address}"
        );
        assert!(address.ends_with(r#""valueString":"12"}]},null]}"#), "{address}");
    }

    #[test]
    fn lines_without_parts_have_no_line_meta() {
        let mut lines = AddressLines::new();
        lines.push_street(Some(Cow::Borrowed("Dorpsstraat 12")), StreetLine::default());
        lines.push_street(None, StreetLine::default());
        assert_eq!(lines.len(), 1);
        let (line, meta) = lines.into_values();
        assert_eq!(meta, None);
        assert_eq!(
            crate::Object::new().with("line", line).to_json(),
            r#"{"line":["Dorpsstraat 12"]}"#
        );
    }

    #[test]
    fn address_elements_come_in_fhir_order() {
        let mut lines = AddressLines::new();
        lines.push_street(
            Some(Cow::Borrowed("Dorpsstraat 12")),
            street(Some("Dorpsstraat"), None, None),
        );
        let address = Address {
            address_use: Some("home"),
            lines,
            city: Some(Cow::Borrowed("Utrecht")),
            postal_code: Some(Cow::Borrowed("3511AB")),
            country: Some(Cow::Borrowed("NL")),
            ..Address::default()
        }
        .into_object()
        .to_json();
        assert_eq!(
            address,
            concat!(
                r#"{"use":"home","line":["Dorpsstraat 12"],"_line":[{"extension":[{"url":"#,
                r#""http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetName","valueString":"Dorpsstraat"}]}],"#,
                r#""city":"Utrecht","postalCode":"3511AB","country":"NL"}"#
            )
        );
        assert!(Address::default().into_object().is_empty());
    }
}
