//! Typed readers for the HL7 v2 data types the mapping uses. Each borrows
//! from the message and decodes its parts lazily through [`Item::text`].

use std::borrow::Cow;

use zorgpoort_model::datatypes::{PartialDateTime, days_in_month, is_decimal};

use crate::error::{Error, ErrorKind};
use crate::message::Item;

type Text<'a> = Option<Cow<'a, str>>;

/// HD: hierarchic designator (assigning authority or facility).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hd<'a> {
    /// HD.1 namespace id, such as `NLMINBIZA`.
    pub namespace: Text<'a>,
    /// HD.2 universal id, usually an OID.
    pub universal_id: Text<'a>,
    /// HD.3 universal id type, such as `ISO`.
    pub universal_id_type: Text<'a>,
}

impl<'a> Hd<'a> {
    /// HD from a component whose parts are subcomponents.
    pub fn from_component(item: Item<'_, 'a>) -> Self {
        Self {
            namespace: item.subcomponent(1).text(),
            universal_id: item.subcomponent(2).text(),
            universal_id_type: item.subcomponent(3).text(),
        }
    }

    /// HD from a field whose parts are components.
    pub fn from_field(item: Item<'_, 'a>) -> Self {
        let c = item.components::<3>();
        Self {
            namespace: c[0].text(),
            universal_id: c[1].text(),
            universal_id_type: c[2].text(),
        }
    }
}

/// CX: extended composite id with check digit (patient identifiers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cx<'a> {
    /// CX.1 the id.
    pub id: Text<'a>,
    /// CX.4 assigning authority.
    pub authority: Hd<'a>,
    /// CX.5 identifier type code (table 0203), such as `NNNLD` or `PI`.
    pub type_code: Text<'a>,
    /// CX.6 assigning facility.
    pub facility: Hd<'a>,
}

impl<'a> Cx<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let c = item.components::<6>();
        Self {
            id: c[0].text(),
            authority: Hd::from_component(c[3]),
            type_code: c[4].text(),
            facility: Hd::from_component(c[5]),
        }
    }
}

/// The family-name part of XPN.1 / XCN.2 (FN), with the Dutch use of its
/// subcomponents: surname, own prefix, own surname, partner prefix, partner surname.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fn<'a> {
    /// FN.1 the surname as written.
    pub surname: Text<'a>,
    /// FN.2 own surname prefix (voorvoegsel).
    pub own_prefix: Text<'a>,
    /// FN.3 own surname.
    pub own_surname: Text<'a>,
    /// FN.4 partner's surname prefix.
    pub partner_prefix: Text<'a>,
    /// FN.5 partner's surname.
    pub partner_surname: Text<'a>,
}

impl<'a> Fn<'a> {
    /// Reads FN from a component.
    pub fn read(item: Item<'_, 'a>) -> Self {
        Self {
            surname: item.subcomponent(1).text(),
            own_prefix: item.subcomponent(2).text(),
            own_surname: item.subcomponent(3).text(),
            partner_prefix: item.subcomponent(4).text(),
            partner_surname: item.subcomponent(5).text(),
        }
    }
}

/// XPN: person name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xpn<'a> {
    /// XPN.1 family name.
    pub family: Fn<'a>,
    /// XPN.2 given name.
    pub given: Text<'a>,
    /// XPN.3 further given names or initials.
    pub middle: Text<'a>,
    /// XPN.4 suffix.
    pub suffix: Text<'a>,
    /// XPN.5 prefix (title).
    pub prefix: Text<'a>,
    /// XPN.6 degree.
    pub degree: Text<'a>,
    /// XPN.7 name type code (table 0200).
    pub type_code: Text<'a>,
}

impl<'a> Xpn<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        Self::from_components(&item.components::<7>())
    }

    /// Reads the name from its seven components (XCN has them at 2..=8).
    fn from_components(c: &[Item<'_, 'a>; 7]) -> Self {
        Self {
            family: Fn::read(c[0]),
            given: c[1].text(),
            middle: c[2].text(),
            suffix: c[3].text(),
            prefix: c[4].text(),
            degree: c[5].text(),
            type_code: c[6].text(),
        }
    }
}

/// XAD: address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xad<'a> {
    /// XAD.1.1 street address as written.
    pub street: Text<'a>,
    /// XAD.1.2 street name.
    pub street_name: Text<'a>,
    /// XAD.1.3 house number.
    pub house_number: Text<'a>,
    /// XAD.2 other designation (e.g. house number addition).
    pub other: Text<'a>,
    /// XAD.3 city.
    pub city: Text<'a>,
    /// XAD.4 state or province.
    pub state: Text<'a>,
    /// XAD.5 postal code.
    pub postal_code: Text<'a>,
    /// XAD.6 country.
    pub country: Text<'a>,
    /// XAD.7 address type (table 0190).
    pub type_code: Text<'a>,
    /// XAD.9 county / municipality.
    pub county: Text<'a>,
}

impl<'a> Xad<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let c = item.components::<9>();
        let street = c[0];
        Self {
            street: street.subcomponent(1).text(),
            street_name: street.subcomponent(2).text(),
            house_number: street.subcomponent(3).text(),
            other: c[1].text(),
            city: c[2].text(),
            state: c[3].text(),
            postal_code: c[4].text(),
            country: c[5].text(),
            type_code: c[6].text(),
            county: c[8].text(),
        }
    }
}

/// XTN: telecommunication number or address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xtn<'a> {
    /// XTN.1 the number as text (deprecated but common).
    pub number: Text<'a>,
    /// XTN.2 use code (table 0201): PRN, WPN, ORN, NET...
    pub use_code: Text<'a>,
    /// XTN.3 equipment type (table 0202): PH, CP, FX, Internet...
    pub equipment: Text<'a>,
    /// XTN.4 e-mail address.
    pub email: Text<'a>,
    /// XTN.5 country code.
    pub country_code: Text<'a>,
    /// XTN.6 area code.
    pub area_code: Text<'a>,
    /// XTN.7 local number.
    pub local_number: Text<'a>,
    /// XTN.8 extension.
    pub extension: Text<'a>,
    /// XTN.12 unformatted telephone number.
    pub unformatted: Text<'a>,
}

impl<'a> Xtn<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let c = item.components::<12>();
        Self {
            number: c[0].text(),
            use_code: c[1].text(),
            equipment: c[2].text(),
            email: c[3].text(),
            country_code: c[4].text(),
            area_code: c[5].text(),
            local_number: c[6].text(),
            extension: c[7].text(),
            unformatted: c[11].text(),
        }
    }
}

/// CWE / CE / CNE: coded element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cwe<'a> {
    /// CWE.1 code.
    pub code: Text<'a>,
    /// CWE.2 text.
    pub text: Text<'a>,
    /// CWE.3 name of coding system.
    pub system: Text<'a>,
    /// CWE.4 alternate code.
    pub alt_code: Text<'a>,
    /// CWE.5 alternate text.
    pub alt_text: Text<'a>,
    /// CWE.6 alternate coding system.
    pub alt_system: Text<'a>,
    /// CWE.9 original text.
    pub original_text: Text<'a>,
}

impl<'a> Cwe<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let c = item.components::<9>();
        Self {
            code: c[0].text(),
            text: c[1].text(),
            system: c[2].text(),
            alt_code: c[3].text(),
            alt_text: c[4].text(),
            alt_system: c[5].text(),
            original_text: c[8].text(),
        }
    }

    /// Reads from subcomponents (a CWE inside a component).
    pub fn read_subcomponents(item: Item<'_, 'a>) -> Self {
        Self {
            code: item.subcomponent(1).text(),
            text: item.subcomponent(2).text(),
            system: item.subcomponent(3).text(),
            ..Self::default()
        }
    }
}

/// XCN: a person (practitioner) with an id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xcn<'a> {
    /// XCN.1 id number (AGB, UZI, BIG or local).
    pub id: Text<'a>,
    /// XCN.2–8 the name.
    pub name: Xpn<'a>,
    /// XCN.9 assigning authority.
    pub authority: Hd<'a>,
    /// XCN.13 identifier type code.
    pub type_code: Text<'a>,
}

impl<'a> Xcn<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let [
            id,
            family,
            given,
            middle,
            suffix,
            prefix,
            degree,
            _,
            authority,
            name_type,
            _,
            _,
            id_type,
        ] = item.components::<13>();
        Self {
            id: id.text(),
            name: Xpn::from_components(&[family, given, middle, suffix, prefix, degree, name_type]),
            authority: Hd::from_component(authority),
            type_code: id_type.text(),
        }
    }
}

/// XON: an organisation with an id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xon<'a> {
    /// XON.1 organisation name.
    pub name: Text<'a>,
    /// XON.3 id number (deprecated; XON.10 preferred).
    pub legacy_id: Text<'a>,
    /// XON.6 assigning authority.
    pub authority: Hd<'a>,
    /// XON.7 identifier type code.
    pub type_code: Text<'a>,
    /// XON.10 organisation identifier.
    pub id: Text<'a>,
}

impl<'a> Xon<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let c = item.components::<10>();
        Self {
            name: c[0].text(),
            legacy_id: c[2].text(),
            authority: Hd::from_component(c[5]),
            type_code: c[6].text(),
            id: c[9].text(),
        }
    }

    /// The identifier, from XON.10 or else XON.3.
    pub fn identifier(&self) -> Option<&str> {
        self.id.as_deref().or(self.legacy_id.as_deref())
    }
}

/// EI: entity identifier (order numbers, message ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ei<'a> {
    /// EI.1 the id.
    pub id: Text<'a>,
    /// EI.2–4 the assigning authority.
    pub authority: Hd<'a>,
}

impl<'a> Ei<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let c = item.components::<4>();
        Self {
            id: c[0].text(),
            authority: Hd {
                namespace: c[1].text(),
                universal_id: c[2].text(),
                universal_id_type: c[3].text(),
            },
        }
    }

    /// Reads an EI that is one component of a field (the parts of an EIP),
    /// its parts subcomponents.
    pub fn from_component(item: Item<'_, 'a>) -> Self {
        Self {
            id: item.subcomponent(1).text(),
            authority: Hd {
                namespace: item.subcomponent(2).text(),
                universal_id: item.subcomponent(3).text(),
                universal_id_type: item.subcomponent(4).text(),
            },
        }
    }
}

/// SN: structured numeric, such as `<^0.5` or `^1^:^128`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sn<'a> {
    /// SN.1 comparator: `>`, `<`, `>=`, `<=`, `=`, `<>`.
    pub comparator: Text<'a>,
    /// SN.2 first number.
    pub num1: Text<'a>,
    /// SN.3 separator or suffix: `-`, `+`, `/`, `.`, `:`.
    pub separator: Text<'a>,
    /// SN.4 second number.
    pub num2: Text<'a>,
}

impl<'a> Sn<'a> {
    /// Reads one repetition.
    pub fn read(item: Item<'_, 'a>) -> Self {
        let c = item.components::<4>();
        Self {
            comparator: c[0].text(),
            num1: c[1].text(),
            separator: c[2].text(),
            num2: c[3].text(),
        }
    }
}

/// NM: a number, if the text is one.
pub fn read_nm(item: Item<'_, '_>) -> Option<String> {
    let text = item.text()?;
    is_decimal(&text).then(|| text.into_owned())
}

/// DTM / TS: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`. A TS's
/// degree-of-precision part is ignored; a TS inside a component (SPM-17.1,
/// SCH-11.4) has its time in the first subcomponent. `Ok(None)` when empty.
pub fn read_dtm(item: Item<'_, '_>) -> Result<Option<PartialDateTime>, Error> {
    let Some(text) = item.subcomponent(1).text() else {
        return Ok(None);
    };
    parse_dtm(&text)
        .map(Some)
        .ok_or_else(|| Error::at(item.location(), ErrorKind::InvalidDate(text.into_owned())))
}

/// Parses DTM text; `None` when malformed or naming a day or time that does not exist.
pub fn parse_dtm(text: &str) -> Option<PartialDateTime> {
    let (body, offset) = match text.find(['+', '-']) {
        Some(i) => (&text[..i], Some(parse_offset(&text[i..])?)),
        None => (text, None),
    };
    let (digits, fraction) = match body.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (body, None),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| digits.get(range).and_then(|s| s.parse::<u32>().ok());
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = num(4..6);
    let day = num(6..8);
    let hour = num(8..10);
    let minute = num(10..12);
    let second = num(12..14);
    if year == 0 || month.is_some_and(|m| !(1..=12).contains(&m)) {
        return None;
    }
    if let (Some(m), Some(d)) = (month, day) {
        if d == 0 || d > days_in_month(year, m) {
            return None;
        }
    }
    let time = match hour {
        Some(h) => {
            let (m, s) = (minute.unwrap_or(0), second.unwrap_or(0));
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
            Some((h, m, s))
        }
        None => None,
    };
    let fraction = match fraction {
        Some(f) if second.is_some() && (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            Some((f.parse().ok()?, u8::try_from(f.len()).ok()?))
        }
        Some(_) => return None,
        None => None,
    };
    Some(PartialDateTime {
        year,
        month,
        day,
        time,
        fraction,
        offset_minutes: offset,
    })
}

fn parse_offset(text: &str) -> Option<i32> {
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits = &text[1..];
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Limits, Message};
    use zorgpoort_model::datatypes::LocalZone;

    #[test]
    fn dtm_precisions_and_offsets() {
        let z = LocalZone::EuropeAmsterdam;
        let fmt = |s| parse_dtm(s).map(|d| d.to_fhir_datetime(z));
        assert_eq!(fmt("2026").as_deref(), Some("2026"));
        assert_eq!(fmt("202611").as_deref(), Some("2026-11"));
        assert_eq!(fmt("20261124").as_deref(), Some("2026-11-24"));
        assert_eq!(fmt("202611240930").as_deref(), Some("2026-11-24T09:30:00+01:00"));
        assert_eq!(
            fmt("20260715093015.25+0200").as_deref(),
            Some("2026-07-15T09:30:15.25+02:00")
        );
        assert_eq!(fmt("198908181126+0215").as_deref(), Some("1989-08-18T11:26:00+02:15"));
        assert_eq!(fmt("20260101000000-0500").as_deref(), Some("2026-01-01T00:00:00-05:00"));
        for bad in [
            "19800230",
            "2026131",
            "202613",
            "20261124250000",
            "abc",
            "2026+99",
            "20261124.5",
            "",
        ] {
            assert!(parse_dtm(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_timestamp_inside_a_component_is_read_from_its_first_subcomponent() {
        // SPM-17 (DR) and SCH-11 (TQ) hold TS values as components.
        let raw = format!(
            "MSH|^~\\&|A\rSPM|1{}20260306081500+0100&S^20260306082000\r",
            "|".repeat(16)
        );
        let m = Message::parse(raw.as_bytes(), &Limits::default()).unwrap();
        let range = m.segment("SPM").unwrap().field(17);
        let z = LocalZone::EuropeAmsterdam;
        let start = read_dtm(range.component(1)).unwrap().unwrap();
        assert_eq!(start.to_fhir_datetime(z), "2026-03-06T08:15:00+01:00");
        let end = read_dtm(range.component(2)).unwrap().unwrap();
        assert_eq!(end.to_fhir_datetime(z), "2026-03-06T08:20:00+01:00");
    }

    #[test]
    fn typed_readers() {
        let raw = b"MSH|^~\\&|A\rPID|1||999911120^^^NLMINBIZA&2.16.840.1.113883.2.4.6.3&ISO^NNNLD||de Vries&de&Vries^Anna^B^^dr.^^L|\rPD1||||12345678^Bakker^Jan^^^^^^VEKTIS^L^^^AGB\rOBX|1|SN|x||<^0.5\r";
        let m = Message::parse(raw, &Limits::default()).unwrap();
        let pid = m.segment("PID").unwrap();
        let cx = Cx::read(pid.field(3));
        assert_eq!(cx.id.as_deref(), Some("999911120"));
        assert_eq!(cx.authority.namespace.as_deref(), Some("NLMINBIZA"));
        assert_eq!(cx.authority.universal_id.as_deref(), Some("2.16.840.1.113883.2.4.6.3"));
        assert_eq!(cx.type_code.as_deref(), Some("NNNLD"));
        let xpn = Xpn::read(pid.field(5));
        assert_eq!(xpn.family.surname.as_deref(), Some("de Vries"));
        assert_eq!(xpn.family.own_prefix.as_deref(), Some("de"));
        assert_eq!(xpn.prefix.as_deref(), Some("dr."));
        assert_eq!(xpn.type_code.as_deref(), Some("L"));
        let xcn = Xcn::read(m.segment("PD1").unwrap().field(4));
        assert_eq!(xcn.id.as_deref(), Some("12345678"));
        assert_eq!(xcn.name.family.surname.as_deref(), Some("Bakker"));
        assert_eq!(xcn.authority.namespace.as_deref(), Some("VEKTIS"));
        assert_eq!(xcn.type_code.as_deref(), Some("AGB"));
        let sn = Sn::read(m.segment("OBX").unwrap().field(5));
        assert_eq!((sn.comparator.as_deref(), sn.num1.as_deref()), (Some("<"), Some("0.5")));
    }
}
