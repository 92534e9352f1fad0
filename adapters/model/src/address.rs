//! Dutch addresses as nl-core wants them: the street line written whole in
//! `Address.line`, with street name, house number and house number suffix
//! repeated in the `iso21090-ADXP-*` extensions on `_line`, so every adapter
//! writes the same shape.

use std::borrow::Cow;

use crate::{Object, ObjectWriter, Value};

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
        for (url, value) in self.parts() {
            if let Some(value) = value {
                extensions.push(Value::Obj(
                    Object::new().with("url", url).with("valueString", value.clone()),
                ));
            }
        }
        Object::new().with("extension", extensions)
    }

    /// Writes the fields of the `_line` element, as [`Self::into_extension`] makes it.
    pub fn write_extension(&self, w: &mut ObjectWriter<'_>) {
        crate::datatypes::write_string_extensions(w, self.parts());
    }

    /// The parts with their extension URLs, in street, number, suffix order.
    fn parts(&self) -> [(&'static str, Option<&Cow<'a, str>>); 3] {
        [
            (STREET_NAME, self.street_name.as_ref()),
            (HOUSE_NUMBER, self.house_number.as_ref()),
            (BUILDING_NUMBER_SUFFIX, self.building_number_suffix.as_ref()),
        ]
    }
}

/// `Address.line` with its `_line` kept aligned: every line has a slot on
/// `_line`, `null` where it has no extensions, and `_line` is left out
/// when no line has any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressLines<'a> {
    /// Each line's text, with the parts of a street line.
    lines: Vec<(Cow<'a, str>, Option<StreetLine<'a>>)>,
}

impl<'a> AddressLines<'a> {
    /// No lines yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a line without extensions.
    pub fn push(&mut self, line: impl Into<Cow<'a, str>>) {
        self.lines.push((line.into(), None));
    }

    /// Adds a street line: `line` as the text when given (a sender's own
    /// spelling of the whole line), else the parts joined (see
    /// [`StreetLine::text`]), with the parts as ADXP extensions. Adds nothing
    /// when there is no text at all, so parts never stand without a line.
    pub fn push_street(&mut self, line: Option<Cow<'a, str>>, parts: StreetLine<'a>) {
        let Some(text) = line.or_else(|| parts.text()) else {
            return;
        };
        let has_parts = parts.parts().iter().any(|(_, part)| part.is_some());
        self.lines.push((text, has_parts.then_some(parts)));
    }

    /// How many lines there are.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Whether any line has extensions: then `_line` is written.
    fn has_extensions(&self) -> bool {
        self.lines.iter().any(|(_, parts)| parts.is_some())
    }

    /// The `line` and `_line` values; `_line` is `None` when no line has
    /// extensions.
    pub fn into_values(self) -> (Value<'a>, Option<Value<'a>>) {
        let with_meta = self.has_extensions();
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut extensions = Vec::with_capacity(if with_meta { self.lines.len() } else { 0 });
        for (text, parts) in self.lines {
            lines.push(Value::Str(text));
            if with_meta {
                extensions.push(parts.map_or(Value::Null, |p| Value::Obj(p.into_extension())));
            }
        }
        (Value::from(lines), with_meta.then_some(Value::Arr(extensions)))
    }

    /// Writes `line` and `_line`, as [`Self::into_values`] makes them.
    fn write(&self, w: &mut ObjectWriter<'_>) {
        w.array("line", |lines| {
            for (text, _) in &self.lines {
                lines.item(text.as_ref());
            }
        });
        if self.has_extensions() {
            w.array("_line", |extensions| {
                for (_, parts) in &self.lines {
                    match parts {
                        Some(parts) => extensions.object(|e| parts.write_extension(e)),
                        None => extensions.item(Value::Null),
                    };
                }
            });
        }
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

    /// Writes the Address element's fields, as [`Self::into_object`] makes them.
    pub fn write(&self, w: &mut ObjectWriter<'_>) {
        w.field("use", self.address_use).field("type", self.address_type);
        self.lines.write(w);
        w.field("city", self.city.as_deref())
            .field("district", self.district.as_deref())
            .field("state", self.state.as_deref())
            .field("postalCode", self.postal_code.as_deref())
            .field("country", self.country.as_deref());
    }

    /// Whether it says where: a line, a city or a postal code.
    pub fn has_place(&self) -> bool {
        !self.lines.is_empty() || self.city.is_some() || self.postal_code.is_some()
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

    fn address_of<'a>(lines: &[(Option<&'a str>, [Option<&'a str>; 3])], city: Option<&'a str>) -> Address<'a> {
        let mut address_lines = AddressLines::new();
        for (line, [name, number, suffix]) in lines {
            address_lines.push_street(line.map(Cow::Borrowed), street(*name, *number, *suffix));
        }
        address_lines.push("Postbus 12");
        Address {
            address_use: Some("home"),
            lines: address_lines,
            city: city.map(Cow::Borrowed),
            ..Address::default()
        }
    }

    proptest::proptest! {
        #[test]
        fn written_addresses_are_the_tree_addresses(
            lines in proptest::collection::vec(
                (proptest::option::of("[a-z ]{0,3}"), proptest::array::uniform3(proptest::option::of("[a-z0-9]{0,3}"))),
                0..3,
            ),
            city in proptest::option::of("[A-Z][a-z]{0,5}"),
        ) {
            let lines: Vec<_> = lines
                .iter()
                .map(|(line, parts)| (line.as_deref(), parts.each_ref().map(Option::as_deref)))
                .collect();
            let address = address_of(&lines, city.as_deref());
            let written = crate::writer::object_text(|w| address.write(w));
            proptest::prop_assert_eq!(written, address.clone().into_object().to_json());
        }
    }
}
