//! Dutch surnames: split a family name into voorvoegsel (prefix such as
//! "van der") and the name proper, as the nl-core `humanname-own-prefix` and
//! `humanname-own-name` extensions want them, and build the whole `family`
//! text with its `_family` extensions from the own and partner's parts
//! ([`FamilyName`]), so every adapter writes the same shape.

use std::borrow::Cow;

use crate::systems::ext;
use crate::{Object, ObjectWriter};

/// Voorvoegsels as they occur in the Dutch civil registry (BRP table 36),
/// longest first so "van der" wins over "van".
const PREFIXES: &[&str] = &[
    "van de", "van der", "van den", "van het", "van 't", "in de", "in den", "in het", "in 't", "op de", "op den",
    "op het", "op 't", "uit de", "uit den", "uit het", "onder de", "over de", "aan de", "aan den", "aan het", "bij de",
    "bij den", "de la", "de le", "van", "de", "den", "der", "het", "'t", "te", "ten", "ter", "op", "in", "uit", "aan",
    "bij", "la", "le", "du", "des", "di", "da", "del", "della", "von", "zu", "vom",
];

/// Splits `family` into (prefix, name) when it starts with a voorvoegsel
/// followed by a name; `None` when it has no prefix.
pub fn split_prefix(family: &str) -> Option<(&str, &str)> {
    let mut best: Option<(&str, &str)> = None;
    for prefix in PREFIXES {
        let Some(head) = family.get(..prefix.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        let rest = &family[prefix.len()..];
        let Some(name) = rest.strip_prefix(' ') else {
            continue;
        };
        let name = name.trim_start();
        if name.is_empty() {
            continue;
        }
        if best.is_none_or(|(p, _)| p.len() < head.len()) {
            best = Some((head, name));
        }
    }
    best
}

/// Whether a given name is only initials: "J", "J." or "J.P." (the zib
/// `NameInformation` IN qualifier rather than BR).
pub fn is_initials(name: &str) -> bool {
    let mut letters = 0;
    for part in name.split(['.', ' ']).filter(|part| !part.is_empty()) {
        let mut chars = part.chars();
        if !chars.next().is_some_and(char::is_alphabetic) || chars.next().is_some() {
            return false;
        }
        letters += 1;
    }
    letters > 0
}

/// Which surname comes first in the whole `family` text of a name with
/// both an own and a partner's surname.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyOrder {
    /// "own-partner", as HL7 v2 and CDA senders write it.
    OwnFirst,
    /// "partner-own", the partner's name in use first (EDIFACT PID).
    PartnerFirst,
}

/// A Dutch surname in the four parts nl-core's `HumanName.family`
/// extensions carry: own and partner's voorvoegsel and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyName<'a> {
    /// Own voorvoegsel (`humanname-own-prefix`), e.g. "van der".
    pub own_prefix: Option<Cow<'a, str>>,
    /// Own surname without voorvoegsel (`humanname-own-name`).
    pub own_name: Option<Cow<'a, str>>,
    /// Partner's voorvoegsel (`humanname-partner-prefix`).
    pub partner_prefix: Option<Cow<'a, str>>,
    /// Partner's surname without voorvoegsel (`humanname-partner-name`).
    pub partner_name: Option<Cow<'a, str>>,
}

/// Moves a voorvoegsel written into `name` to `prefix` when no prefix is
/// given, keeping borrowed text borrowed.
fn split_into<'a>(prefix: &mut Option<Cow<'a, str>>, name: &mut Option<Cow<'a, str>>) {
    if prefix.is_some() {
        return;
    }
    let split = match name.as_ref() {
        Some(Cow::Borrowed(text)) => split_prefix(text).map(|(p, n)| (Cow::Borrowed(p), Cow::Borrowed(n))),
        Some(Cow::Owned(text)) => split_prefix(text).map(|(p, n)| (Cow::Owned(p.to_owned()), Cow::Owned(n.to_owned()))),
        None => None,
    };
    if let Some((p, n)) = split {
        (*prefix, *name) = (Some(p), Some(n));
    }
}

/// The present parts joined by a space, `None` when that is empty; a part
/// that is present but empty still counts, as the adapters always did.
fn join_parts<'a>(first: Option<&Cow<'a, str>>, second: Option<&Cow<'a, str>>) -> Option<Cow<'a, str>> {
    let joined = match (first, second) {
        (Some(a), Some(b)) => Cow::Owned(format!("{a} {b}")),
        (Some(one), None) | (None, Some(one)) => one.clone(),
        (None, None) => return None,
    };
    (!joined.is_empty()).then_some(joined)
}

impl<'a> FamilyName<'a> {
    /// The own surname of a whole `surname`, its voorvoegsel split off when
    /// it starts with one ("van der Berg" -> "van der" + "Berg"); no partner.
    pub fn from_surname(surname: impl Into<Cow<'a, str>>) -> Self {
        let mut name = Self {
            own_name: Some(surname.into()),
            ..Self::default()
        };
        name.split_own_prefix();
        name
    }

    /// Moves a voorvoegsel written into `own_name` to `own_prefix`, unless an
    /// own prefix is already given.
    pub fn split_own_prefix(&mut self) {
        split_into(&mut self.own_prefix, &mut self.own_name);
    }

    /// Moves a voorvoegsel written into `partner_name` to `partner_prefix`,
    /// unless a partner prefix is already given.
    pub fn split_partner_prefix(&mut self) {
        split_into(&mut self.partner_prefix, &mut self.partner_name);
    }

    /// Own voorvoegsel and name joined by a space ("van der Berg").
    pub fn own(&self) -> Option<Cow<'a, str>> {
        join_parts(self.own_prefix.as_ref(), self.own_name.as_ref())
    }

    /// Partner's voorvoegsel and name joined by a space.
    pub fn partner(&self) -> Option<Cow<'a, str>> {
        join_parts(self.partner_prefix.as_ref(), self.partner_name.as_ref())
    }

    /// The whole `family` text: own and partner's surname joined by a hyphen
    /// in `order`, or whichever of the two there is.
    pub fn text(&self, order: FamilyOrder) -> Option<Cow<'a, str>> {
        match (self.own(), self.partner()) {
            (Some(own), Some(partner)) => Some(Cow::Owned(match order {
                FamilyOrder::OwnFirst => format!("{own}-{partner}"),
                FamilyOrder::PartnerFirst => format!("{partner}-{own}"),
            })),
            (own, partner) => own.or(partner),
        }
    }

    /// The `_family` element: the `humanname-*` extensions of the parts
    /// there are, in own-prefix, own-name, partner-prefix, partner-name
    /// order; an empty object (which [`Object::with`] does not store) when
    /// there are none.
    pub fn into_extension(self) -> Object<'a> {
        let extensions: Vec<Object<'a>> = self
            .parts()
            .into_iter()
            .filter_map(|(url, value)| value.map(|v| Object::new().with("url", url).with("valueString", v.clone())))
            .collect();
        Object::new().with("extension", extensions)
    }

    /// Writes the fields of the `_family` element, as [`Self::into_extension`] makes it.
    pub fn write_extension(&self, w: &mut ObjectWriter<'_>) {
        crate::datatypes::write_string_extensions(w, self.parts());
    }

    /// The parts with their extension URLs, in own-prefix, own-name,
    /// partner-prefix, partner-name order.
    fn parts(&self) -> [(&'static str, Option<&Cow<'a, str>>); 4] {
        [
            (ext::OWN_PREFIX, self.own_prefix.as_ref()),
            (ext::OWN_NAME, self.own_name.as_ref()),
            (ext::PARTNER_PREFIX, self.partner_prefix.as_ref()),
            (ext::PARTNER_NAME, self.partner_name.as_ref()),
        ]
    }

    /// The `family` text (see [`FamilyName::text`]) and the `_family`
    /// element (see [`FamilyName::into_extension`]) in one go.
    pub fn into_family(self, order: FamilyOrder) -> (Option<Cow<'a, str>>, Object<'a>) {
        let text = self.text(order);
        (text, self.into_extension())
    }

    /// The same parts, owning their text.
    #[must_use]
    pub fn into_owned(self) -> FamilyName<'static> {
        let own = |part: Option<Cow<'a, str>>| part.map(|p| Cow::Owned(p.into_owned()));
        FamilyName {
            own_prefix: own(self.own_prefix),
            own_name: own(self.own_name),
            partner_prefix: own(self.partner_prefix),
            partner_name: own(self.partner_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{FamilyName, FamilyOrder, is_initials, split_prefix};

    #[test]
    fn splits_the_longest_prefix() {
        assert_eq!(split_prefix("van der Berg"), Some(("van der", "Berg")));
        assert_eq!(split_prefix("Van den Heuvel"), Some(("Van den", "Heuvel")));
        assert_eq!(split_prefix("de Vries"), Some(("de", "Vries")));
        assert_eq!(split_prefix("Jansen"), None);
        assert_eq!(split_prefix("van"), None);
        assert_eq!(split_prefix("Vandenberg"), None);
    }

    fn parts<'a>(own: [Option<&'a str>; 2], partner: [Option<&'a str>; 2]) -> FamilyName<'a> {
        FamilyName {
            own_prefix: own[0].map(Cow::Borrowed),
            own_name: own[1].map(Cow::Borrowed),
            partner_prefix: partner[0].map(Cow::Borrowed),
            partner_name: partner[1].map(Cow::Borrowed),
        }
    }

    #[test]
    fn initials_are_told_from_names() {
        for initials in ["J", "J.", "J.P.", "J. P."] {
            assert!(is_initials(initials), "{initials}");
        }
        for name in ["Jan", "stanley", "Jan P.", "", "."] {
            assert!(!is_initials(name), "{name}");
        }
    }

    #[test]
    fn a_whole_surname_is_split_once() {
        assert_eq!(
            FamilyName::from_surname("van der Berg"),
            parts([Some("van der"), Some("Berg")], [None, None])
        );
        assert_eq!(
            FamilyName::from_surname("Jansen"),
            parts([None, Some("Jansen")], [None, None])
        );
        // Owned text splits the same, into owned parts.
        let owned = FamilyName::from_surname(String::from("de Vries"));
        assert_eq!(owned, parts([Some("de"), Some("Vries")], [None, None]));
        assert!(matches!(owned.own_name, Some(Cow::Owned(_))));
    }

    #[test]
    fn a_given_prefix_is_not_split_again() {
        let mut name = parts([Some("van"), Some("de Berg")], [None, Some("ter Horst")]);
        name.split_own_prefix();
        name.split_partner_prefix();
        assert_eq!(
            name,
            parts([Some("van"), Some("de Berg")], [Some("ter"), Some("Horst")])
        );
        let mut plain = parts([None, Some("Smit")], [None, Some("Bakker")]);
        plain.split_own_prefix();
        plain.split_partner_prefix();
        assert_eq!(plain, parts([None, Some("Smit")], [None, Some("Bakker")]));
    }

    #[test]
    fn own_and_partner_join_their_parts() {
        let name = parts([Some("van der"), Some("Berg")], [Some("de"), None]);
        assert_eq!(name.own().as_deref(), Some("van der Berg"));
        assert_eq!(name.partner().as_deref(), Some("de"));
        assert_eq!(parts([Some(""), None], [None, None]).own(), None);
        assert_eq!(
            parts([Some(""), Some("Berg")], [None, None]).own().as_deref(),
            Some(" Berg")
        );
    }

    #[test]
    fn family_text_follows_the_order() {
        let both = parts([Some("van"), Some("Dijk")], [Some("de"), Some("Vries")]);
        assert_eq!(both.text(FamilyOrder::OwnFirst).as_deref(), Some("van Dijk-de Vries"));
        assert_eq!(
            both.text(FamilyOrder::PartnerFirst).as_deref(),
            Some("de Vries-van Dijk")
        );
        let partner_only = parts([None, None], [None, Some("Vries")]);
        assert_eq!(partner_only.text(FamilyOrder::OwnFirst).as_deref(), Some("Vries"));
        assert_eq!(FamilyName::default().text(FamilyOrder::PartnerFirst), None);
    }

    #[test]
    fn the_family_extension_lists_the_parts_in_order() {
        let name = parts([Some("van"), Some("Dijk")], [None, Some("Vries")]);
        let (text, extension) = name.clone().into_family(FamilyOrder::OwnFirst);
        assert_eq!(text.as_deref(), Some("van Dijk-Vries"));
        assert_eq!(
            extension.to_json(),
            concat!(
                r#"{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"van"},"#,
                r#"{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-name","valueString":"Dijk"},"#,
                r#"{"url":"http://hl7.org/fhir/StructureDefinition/humanname-partner-name","valueString":"Vries"}]}"#
            )
        );
        assert_eq!(name.into_owned().into_extension(), extension);
        assert!(FamilyName::default().into_extension().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn written_extensions_are_the_tree_extensions(
            own in proptest::array::uniform2(proptest::option::of("[a-z ]{0,4}")),
            partner in proptest::array::uniform2(proptest::option::of("[a-z ]{0,4}")),
        ) {
            let name = parts(own.each_ref().map(Option::as_deref), partner.each_ref().map(Option::as_deref));
            let written = crate::writer::object_text(|w| name.write_extension(w));
            proptest::prop_assert_eq!(written, name.clone().into_extension().to_json());
        }
    }
}
