//! Deterministic generator of synthetic Dutch HL7 v2.5 messages.
//!
//! Meant for benchmarks and property tests: it produces an endless, reproducible
//! stream of realistic-looking ER7 messages (ADT^A01, ADT^A03, ADT^A08 and
//! ORU^R01, roughly half ADT and half ORU, each about 1–3 KB) without needing
//! any real message corpus.
//!
//! All data is fictional. Names, addresses, phone numbers and identifiers are
//! drawn from small built-in lists and a seeded pseudo-random generator
//! (xorshift64*). BSNs pass the Dutch 11-check but are always taken from the
//! `9999xxxxx` range that is conventionally used for test BSNs, so they do not
//! point at real people. Most hospital names are made up; e-mail addresses use
//! the reserved `.example` top-level domain.
//!
//! The same seed always gives the same sequence of messages, on every platform.
//!
//! ```
//! use zorgpoort_hl7v2::synthetic::Generator;
//! let mut generator = Generator::new(42);
//! let message = generator.next_message();
//! assert!(message.starts_with("MSH|^~\\&|"));
//! ```

use std::fmt::Write as _;

use zorgpoort_model::datatypes::{self, LocalZone};

/// A seeded, deterministic source of synthetic Dutch HL7 v2.5 messages.
#[derive(Debug, Clone)]
pub struct Generator {
    /// xorshift64* state; never zero.
    state: u64,
    /// Number of messages produced so far; feeds MSH-10 and other unique ids.
    counter: u64,
}

impl Generator {
    /// Creates a generator; equal seeds give equal message sequences.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        // splitmix64 finaliser, so nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let state = if z == 0 { 0x2545_F491_4F6C_DD1D } else { z };
        Self { state, counter: 0 }
    }

    /// Returns the next ER7 message. Every segment, including the last, ends with
    /// `'\r'`, and the message never contains `'\n'`.
    pub fn next_message(&mut self) -> String {
        self.counter += 1;
        let kind = if self.chance(50) {
            Kind::OruR01
        } else {
            match self.below(10) {
                0..=3 => Kind::AdtA01,
                4..=6 => Kind::AdtA03,
                _ => Kind::AdtA08,
            }
        };
        let mut out = String::with_capacity(3072);
        match kind {
            Kind::OruR01 => self.oru(&mut out),
            Kind::AdtA01 | Kind::AdtA03 | Kind::AdtA08 => self.adt(kind, &mut out),
        }
        out
    }

    // ----------------------------------------------------------------------
    // Random primitives
    // ----------------------------------------------------------------------

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish value in `0..n` (0 when `n == 0`); the modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Value in `lo..=hi` (returns `lo` when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        let offset = i64::try_from(self.below(span)).unwrap_or(0);
        lo.saturating_add(offset)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Random index into a collection of length `len` (0 for empty collections).
    fn index(&mut self, len: usize) -> usize {
        let n = u64::try_from(len).unwrap_or(u64::MAX);
        usize::try_from(self.below(n)).unwrap_or(0)
    }

    /// Random element of a non-empty built-in table.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let i = self.index(items.len());
        items[i]
    }

    /// `n` random decimal digits.
    fn digits(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        for _ in 0..n {
            s.push(digit_char(self.below(10)));
        }
        s
    }

    // ----------------------------------------------------------------------
    // Domain values
    // ----------------------------------------------------------------------

    /// A BSN that passes the 11-check, from the `9999xxxxx` test range.
    fn bsn(&mut self) -> String {
        loop {
            let mut digits = [9_u64, 9, 9, 9, 0, 0, 0, 0, 0];
            for d in digits.iter_mut().take(8).skip(4) {
                *d = self.below(10);
            }
            let weighted: u64 = digits
                .iter()
                .take(8)
                .zip([9_u64, 8, 7, 6, 5, 4, 3, 2])
                .map(|(d, w)| d * w)
                .sum();
            let check = weighted % 11;
            if check == 10 {
                continue;
            }
            digits[8] = check;
            return digits.iter().map(|&d| digit_char(d)).collect();
        }
    }

    /// An AGB code: two-digit profession prefix followed by six digits.
    fn agb(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.digits(6))
    }

    fn person(&mut self, sex: Option<Sex>) -> Person {
        let sex = match sex {
            Some(s) => s,
            None => {
                if self.chance(50) {
                    Sex::Female
                } else {
                    Sex::Male
                }
            }
        };
        let given = match sex {
            Sex::Female => self.pick(GIVEN_FEMALE),
            Sex::Male => self.pick(GIVEN_MALE),
        };
        let (prefix, own) = if self.chance(40) {
            self.pick(PREFIXED_SURNAMES)
        } else {
            ("", self.pick(PLAIN_SURNAMES))
        };
        // Some people use their partner's name after their own (Dutch name usage).
        let partner = if self.chance(15) {
            if self.chance(50) {
                Some(self.pick(PREFIXED_SURNAMES))
            } else {
                Some(("", self.pick(PLAIN_SURNAMES)))
            }
        } else {
            None
        };
        let mut initials = String::new();
        if let Some(c) = given.chars().next() {
            initials.push(c);
            initials.push('.');
        }
        if self.chance(50) {
            let second = match sex {
                Sex::Female => self.pick(GIVEN_FEMALE),
                Sex::Male => self.pick(GIVEN_MALE),
            };
            if let Some(c) = second.chars().next() {
                initials.push(c);
                initials.push('.');
            }
        }
        Person {
            given,
            initials,
            prefix,
            own,
            partner,
            sex,
        }
    }

    /// An XAD home address, sometimes with the Dutch SAD street/house-number split.
    fn address(&mut self) -> String {
        let (city, postcode_prefix) = self.pick(CITIES);
        let street = self.pick(STREETS);
        let number = self.range(1, 240);
        let letter = if self.chance(10) {
            self.pick(&["a", "b", "A", "bis"])
        } else {
            ""
        };
        let l1 = char::from(b'A' + u8::try_from(self.below(26)).unwrap_or(0));
        let mut l2 = char::from(b'A' + u8::try_from(self.below(26)).unwrap_or(0));
        // SA, SD and SS are not issued as postcode letter pairs.
        if l1 == 'S' && matches!(l2, 'A' | 'D' | 'S') {
            l2 = 'E';
        }
        let postcode = format!("{postcode_prefix}{}{l1}{l2}", self.digits(2));
        if self.chance(30) {
            format!("{street} {number}{letter}&{street}&{number}{letter}^^{city}^^{postcode}^NL^H")
        } else {
            format!("{street} {number}{letter}^^{city}^^{postcode}^NL^H")
        }
    }

    fn mobile(&mut self) -> String {
        format!("+316{}", self.digits(8))
    }

    fn phones(&mut self, person: &Person) -> String {
        let mut s = format!("^PRN^CP^^^^^^^^^{}", self.mobile());
        if self.chance(35) {
            let area = self.pick(&["20", "26", "30", "24", "10", "70", "38", "55"]);
            let _ = write!(s, "~^PRN^PH^^^^^^^^^+31{area}{}", self.digits(7));
        }
        if self.chance(40) {
            let _ = write!(
                s,
                "~^NET^Internet^{}.{}@mail.example",
                person.initial_lower(),
                person.email_surname()
            );
        }
        s
    }

    /// XCN of a medical specialist identified by AGB code (prefix 03).
    fn specialist(&mut self) -> String {
        let p = self.person(None);
        let agb = self.agb("03");
        format!("{agb}^{}^{}^^^^^^{VEKTIS}^L^^^AGB", p.xpn_family(), p.initials)
    }

    /// Local wall-clock time (seconds since 1970-01-01T00:00 local) in 2025–2026.
    fn recent_time(&mut self) -> i64 {
        let day = days_from_civil(2025, 1, 1) + self.range(0, 729);
        day * 86_400 + self.range(6 * 3600, 22 * 3600 + 3599)
    }

    fn control_id(&self) -> String {
        format!("MSG{:08}", self.counter)
    }

    // ----------------------------------------------------------------------
    // Segments
    // ----------------------------------------------------------------------

    fn msh(&mut self, out: &mut String, kind: Kind, hospital: Hospital, now: i64) {
        let (app, message_type) = match kind {
            Kind::AdtA01 => ("HIS", "ADT^A01^ADT_A01"),
            Kind::AdtA03 => ("HIS", "ADT^A03^ADT_A03"),
            Kind::AdtA08 => ("HIS", "ADT^A08^ADT_A01"),
            Kind::OruR01 => ("LAB", "ORU^R01^ORU_R01"),
        };
        let mut msh = Seg::msh();
        msh.set_msh(3, app);
        msh.set_msh(4, hospital.name);
        msh.set_msh(5, "ZORGPOORT");
        msh.set_msh(6, "ZORGPOORT");
        msh.set_msh(7, ts(now));
        msh.set_msh(9, message_type);
        msh.set_msh(10, self.control_id());
        msh.set_msh(11, "P");
        msh.set_msh(12, "2.5");
        msh.set_msh(15, "AL");
        msh.set_msh(16, "NE");
        msh.set_msh(17, "NLD");
        if self.chance(40) {
            msh.set_msh(18, "UNICODE UTF-8");
        }
        msh.write(out);
    }

    fn pid(&mut self, out: &mut String, patient: &Patient, hospital: Hospital, deceased: Option<i64>) {
        let mut pid = Seg::new("PID");
        pid.set(1, "1");
        pid.set(
            3,
            format!(
                "{}^^^{}^PI~{}^^^NLMINBIZA^NNNLD",
                patient.hospital_number, hospital.authority, patient.bsn
            ),
        );
        pid.set(5, patient.person.xpn());
        pid.set(7, date(patient.birth));
        pid.set(8, patient.person.sex.code());
        pid.set(11, patient.address.clone());
        pid.set(13, patient.phones.clone());
        if patient.adult && self.chance(60) {
            pid.set(16, self.pick(MARITAL));
        }
        if let Some(death) = deceased {
            pid.set(29, ts(death));
            pid.set(30, "Y");
        }
        pid.write(out);
    }

    fn pd1(&mut self, out: &mut String) {
        let practice = self.pick(PRACTICES);
        let practice_agb = self.agb("01");
        let gp = self.person(None);
        let gp_agb = self.agb("01");
        let mut pd1 = Seg::new("PD1");
        pd1.set(3, format!("{practice}^^^^^{VEKTIS}^^^^{practice_agb}"));
        pd1.set(
            4,
            format!("{gp_agb}^{}^{}^^^^^^{VEKTIS}^^^^AGB", gp.xpn_family(), gp.initials),
        );
        pd1.write(out);
    }

    #[allow(clippy::too_many_arguments)]
    fn pv1(
        &mut self,
        out: &mut String,
        class: &str,
        hospital: Hospital,
        visit: &str,
        admit: i64,
        discharge: Option<i64>,
        deceased: bool,
    ) {
        let (dept, service) = self.pick(DEPARTMENTS);
        let mut pv1 = Seg::new("PV1");
        pv1.set(1, "1");
        pv1.set(2, class);
        let location = match class {
            "E" => format!("SEH^BOX{}^^{}", self.range(1, 12), hospital.authority),
            "O" => format!("POLI-{service}^^^{}", hospital.authority),
            _ => format!(
                "{dept}^K{}^B{}^{}",
                self.range(1, 40),
                self.range(1, 4),
                hospital.authority
            ),
        };
        pv1.set(3, location);
        pv1.set(
            4,
            match class {
                "E" => "E",
                "O" => "R",
                _ => self.pick(&["E", "U", "C", "R"]),
            },
        );
        pv1.set(7, self.specialist());
        if self.chance(40) {
            let gp = self.person(None);
            let gp_agb = self.agb("01");
            pv1.set(
                8,
                format!("{gp_agb}^{}^{}^^^^^^{VEKTIS}^L^^^AGB", gp.xpn_family(), gp.initials),
            );
        }
        pv1.set(10, service);
        if class != "O" {
            pv1.set(14, if class == "E" { "7" } else { self.pick(&["1", "2", "4"]) });
            pv1.set(17, self.specialist());
        }
        pv1.set(19, format!("{visit}^^^{}^VN", hospital.authority));
        if let Some(end) = discharge {
            pv1.set(
                36,
                if deceased {
                    "20"
                } else {
                    self.pick(&["01", "01", "01", "02", "03"])
                },
            );
            pv1.set(45, ts(end));
        }
        // Admission times come with or without seconds and offset, as in the field.
        pv1.set(
            44,
            match self.below(4) {
                0 => ts_minutes(admit),
                1 => ts_local(admit),
                _ => ts(admit),
            },
        );
        pv1.write(out);
    }

    fn evn(&mut self, out: &mut String, trigger: &str, now: i64) {
        let mut evn = Seg::new("EVN");
        evn.set(1, trigger);
        evn.set(2, ts(now));
        let operator = self.person(None);
        evn.set(
            5,
            format!(
                "{}^{}^{}^^^^^^{}",
                self.digits(6),
                operator.xpn_family(),
                operator.initials,
                "HIS"
            ),
        );
        evn.set(6, ts(now - self.range(0, 900)));
        evn.write(out);
    }

    fn nk1(&mut self, out: &mut String, patient: &Patient) {
        let contact = self.person(None);
        let (code, text) = self.pick(RELATIONSHIPS);
        let mut nk1 = Seg::new("NK1");
        nk1.set(1, "1");
        nk1.set(2, contact.xpn());
        nk1.set(3, format!("{code}^{text}^HL70063"));
        if self.chance(50) {
            nk1.set(4, patient.address.clone());
        } else {
            nk1.set(4, self.address());
        }
        nk1.set(5, format!("^PRN^CP^^^^^^^^^{}", self.mobile()));
        nk1.set(7, "C^Eerste contactpersoon^HL70131");
        nk1.write(out);
    }

    fn al1(&mut self, out: &mut String, n: usize) {
        let (ty, code, text) = self.pick(ALLERGIES);
        let mut al1 = Seg::new("AL1");
        al1.set(1, n.to_string());
        al1.set(2, format!("{ty}^{}^HL70127", allergy_type_text(ty)));
        al1.set(3, format!("{code}^{text}^L"));
        al1.set(
            4,
            self.pick(&["MI^Mild^HL70128", "MO^Matig^HL70128", "SV^Ernstig^HL70128"]),
        );
        al1.set(
            5,
            self.pick(&["Huiduitslag", "Jeuk \\T\\ galbulten", "Benauwdheid", "Zwelling lippen"]),
        );
        al1.write(out);
    }

    fn dg1(&mut self, out: &mut String, n: usize, when: i64, kind: &str, avoid: &str) -> &'static str {
        let (mut code, mut text) = self.pick(DIAGNOSES);
        if code == avoid {
            (code, text) = self.pick(DIAGNOSES);
        }
        if code == avoid {
            (code, text) = DIAGNOSES[0];
            if code == avoid {
                (code, text) = DIAGNOSES[1];
            }
        }
        let mut dg1 = Seg::new("DG1");
        dg1.set(1, n.to_string());
        dg1.set(3, format!("{code}^{text}^I10"));
        dg1.set(5, ts(when));
        dg1.set(6, kind);
        dg1.write(out);
        code
    }

    fn in1(&mut self, out: &mut String, start: i64) {
        let (uzovi, name) = self.pick(INSURERS);
        let mut in1 = Seg::new("IN1");
        in1.set(1, "1");
        in1.set(2, "ZVW^Basisverzekering Zvw^L");
        in1.set(3, format!("{uzovi}^^^VEKTIS^UZOVI"));
        in1.set(4, name);
        let (y, _, _) = civil_from_days(start.div_euclid(86_400));
        in1.set(12, format!("{y:04}0101"));
        in1.set(13, format!("{y:04}1231"));
        in1.set(36, format!("{}{}", self.pick(&["ZV", "PL", "NL", ""]), self.digits(9)));
        in1.write(out);
    }

    // ----------------------------------------------------------------------
    // Messages
    // ----------------------------------------------------------------------

    fn patient(&mut self) -> Patient {
        let birth_day = days_from_civil(1930, 1, 1) + self.range(0, 95 * 365);
        let mut person = self.person(None);
        let adult = civil_from_days(birth_day).0 <= 2006;
        if !adult {
            person.partner = None;
        }
        let address = self.address();
        let phones = self.phones(&person);
        Patient {
            adult,
            hospital_number: self.digits(7),
            bsn: self.bsn(),
            person,
            birth: birth_day * 86_400,
            address,
            phones,
        }
    }

    fn adt(&mut self, kind: Kind, out: &mut String) {
        let hospital = self.pick(HOSPITALS);
        let now = self.recent_time();
        let patient = self.patient();
        let class = self.pick(&["I", "I", "I", "E", "O"]);
        let visit = format!("V{}{}", civil_from_days(now.div_euclid(86_400)).0, self.digits(6));
        let (trigger, admit, discharge) = match kind {
            Kind::AdtA03 => {
                let end = now - self.range(60, 3600);
                let start = end - self.range(3600, 12 * 86_400);
                ("A03", start, Some(end))
            }
            Kind::AdtA08 => ("A08", now - self.range(600, 5 * 86_400), None),
            Kind::AdtA01 | Kind::OruR01 => ("A01", now - self.range(0, 1800), None),
        };
        let deceased = matches!(kind, Kind::AdtA03) && class == "I" && self.chance(4);

        self.msh(out, kind, hospital, now);
        self.evn(out, trigger, now);
        let death = if deceased { discharge } else { None };
        self.pid(out, &patient, hospital, death);
        self.pd1(out);
        if self.chance(30) {
            self.nk1(out, &patient);
        }
        self.pv1(out, class, hospital, &visit, admit, discharge, deceased);
        if class != "O" && self.chance(50) {
            let mut pv2 = Seg::new("PV2");
            pv2.set(3, self.pick(ADMIT_REASONS));
            if discharge.is_none() {
                pv2.set(9, date(admit + self.range(1, 10) * 86_400));
            }
            pv2.write(out);
        }
        if self.chance(30) {
            let count = self.range(1, 2);
            for n in 1..=count {
                self.al1(out, usize::try_from(n).unwrap_or(1));
            }
        }
        if self.chance(40) {
            let first = self.dg1(out, 1, admit, if discharge.is_some() { "F" } else { "A" }, "");
            if self.chance(30) {
                self.dg1(out, 2, admit, "W", first);
            }
        }
        // Dutch hospitals virtually always know the patient's basic insurance.
        self.in1(out, now);
    }

    fn oru(&mut self, out: &mut String) {
        let hospital = self.pick(HOSPITALS);
        let now = self.recent_time();
        let patient = self.patient();
        let collected = now - self.range(1800, 8 * 3600);
        let received = collected + self.range(300, 1800);
        let panel = self.pick(PANELS);
        let placer = format!("ORD{}", self.digits(7));
        let filler = format!("LAB{}", self.digits(8));
        let orderer = self.specialist();

        self.msh(out, Kind::OruR01, hospital, now);
        self.pid(out, &patient, hospital, None);
        if self.chance(50) {
            self.pd1(out);
        }
        let class = self.pick(&["O", "O", "I", "E"]);
        let visit = format!("V{}{}", civil_from_days(now.div_euclid(86_400)).0, self.digits(6));
        let admit = collected - self.range(0, 3 * 86_400);
        self.pv1(out, class, hospital, &visit, admit, None, false);

        let mut orc = Seg::new("ORC");
        orc.set(1, "RE");
        orc.set(2, format!("{placer}^HIS"));
        orc.set(3, format!("{filler}^LAB"));
        orc.set(5, "CM");
        orc.set(9, ts(now));
        orc.set(12, orderer.clone());
        orc.write(out);

        let mut obr = Seg::new("OBR");
        obr.set(1, "1");
        obr.set(2, format!("{placer}^HIS"));
        obr.set(3, format!("{filler}^LAB"));
        obr.set(4, format!("{}^{}^LN", panel.code, panel.name));
        obr.set(7, ts(collected));
        obr.set(14, ts(received));
        obr.set(16, orderer);
        obr.set(22, ts(now));
        if !panel.section.is_empty() {
            obr.set(24, panel.section);
        }
        obr.set(25, "F");
        obr.write(out);

        if self.chance(50) {
            self.nte(out, 1, GENERAL_NOTES);
        }

        // 3–12 observations: the panel's analytes first, topped up with extras.
        let target = usize::try_from(self.range(3, 12)).unwrap_or(3);
        let mut chosen: Vec<&'static Analyte> = Vec::with_capacity(12);
        for a in panel.analytes {
            if chosen.len() < target {
                chosen.push(a);
            }
        }
        let mut guard = 0;
        while chosen.len() < target && guard < 200 {
            guard += 1;
            let i = self.index(EXTRAS.len());
            let a = &EXTRAS[i];
            if !chosen.iter().any(|c| c.code == a.code) {
                chosen.push(a);
            }
        }

        let mut notes = 0;
        for (i, analyte) in chosen.iter().enumerate() {
            self.obx(out, i + 1, analyte, collected, now);
            if notes < 1 && self.chance(12) {
                notes += 1;
                self.nte(out, 1, RESULT_NOTES);
            }
        }
        if notes == 0 || self.chance(30) {
            self.nte(out, 1, RESULT_NOTES);
        }
    }

    fn nte(&mut self, out: &mut String, n: usize, texts: &[&str]) {
        let mut nte = Seg::new("NTE");
        nte.set(1, n.to_string());
        nte.set(2, "L");
        nte.set(3, self.pick(texts));
        nte.write(out);
    }

    fn obx(&mut self, out: &mut String, n: usize, analyte: &Analyte, observed: i64, now: i64) {
        let mut obx = Seg::new("OBX");
        obx.set(1, n.to_string());
        obx.set(3, format!("{}^{}^{}", analyte.code, analyte.name, analyte.system));
        match analyte.kind {
            ValueKind::Num(num) => {
                // Mostly within the reference range, otherwise anywhere in the plausible range.
                let value = if self.chance(60) {
                    self.range(num.ref_low, num.ref_high)
                } else {
                    self.range(num.gen_low, num.gen_high)
                };
                let flag = if value > num.ref_high {
                    "H"
                } else if value < num.ref_low {
                    "L"
                } else {
                    "N"
                };
                match (num.floor, num.ceil) {
                    (Some(floor), _) if value < floor => {
                        obx.set(2, "SN");
                        obx.set(5, format!("<^{}", scaled(floor, num.decimals)));
                    }
                    (_, Some(ceil)) if value > ceil => {
                        obx.set(2, "SN");
                        obx.set(5, format!(">^{}", scaled(ceil, num.decimals)));
                    }
                    _ => {
                        obx.set(2, "NM");
                        obx.set(5, scaled(value, num.decimals));
                    }
                }
                obx.set(6, format!("{}^^UCUM", num.unit));
                obx.set(
                    7,
                    if num.reference.is_empty() {
                        format!(
                            "{}-{}",
                            scaled(num.ref_low, num.decimals),
                            scaled(num.ref_high, num.decimals)
                        )
                    } else {
                        num.reference.to_string()
                    },
                );
                obx.set(8, flag);
            }
            ValueKind::Text(texts) => {
                obx.set(2, "ST");
                obx.set(5, self.pick(texts));
            }
            ValueKind::Coded => {
                obx.set(2, "CWE");
                if self.chance(80) {
                    obx.set(5, "260385009^Negatief^SCT");
                    obx.set(8, "N");
                } else {
                    obx.set(5, "10828004^Positief^SCT");
                    obx.set(8, "A");
                }
            }
        }
        obx.set(11, "F");
        obx.set(14, ts(observed));
        if self.chance(50) {
            obx.set(19, ts(now - self.range(60, 1200)));
        }
        obx.write(out);
    }
}

// --------------------------------------------------------------------------
// Helpers and data
// --------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Kind {
    AdtA01,
    AdtA03,
    AdtA08,
    OruR01,
}

#[derive(Clone, Copy)]
enum Sex {
    Female,
    Male,
}

impl Sex {
    fn code(self) -> &'static str {
        match self {
            Sex::Female => "F",
            Sex::Male => "M",
        }
    }
}

struct Person {
    given: &'static str,
    initials: String,
    prefix: &'static str,
    own: &'static str,
    partner: Option<(&'static str, &'static str)>,
    sex: Sex,
}

impl Person {
    /// Surname as written in full, e.g. `van der Berg` or `de Vries-van Dijk`.
    fn full_surname(&self) -> String {
        let own = join_prefix(self.prefix, self.own);
        match self.partner {
            Some((pp, ps)) => format!("{own}-{}", join_prefix(pp, ps)),
            None => own,
        }
    }

    /// FN (family name) with Dutch subcomponents: full&prefix&own[&partner prefix&partner surname].
    fn xpn_family(&self) -> String {
        let mut s = format!("{}&{}&{}", self.full_surname(), self.prefix, self.own);
        if let Some((pp, ps)) = self.partner {
            let _ = write!(s, "&{pp}&{ps}");
        }
        s
    }

    fn xpn(&self) -> String {
        // Initials only when they add something beyond the first given name.
        let middle = if self.initials.len() > 2 {
            self.initials.as_str()
        } else {
            ""
        };
        format!("{}^{}^{middle}^^^^L", self.xpn_family(), self.given)
    }

    fn initial_lower(&self) -> String {
        self.given.chars().take(1).flat_map(char::to_lowercase).collect()
    }

    fn email_surname(&self) -> String {
        join_prefix(self.prefix, self.own)
            .chars()
            .filter(char::is_ascii_alphabetic)
            .flat_map(char::to_lowercase)
            .collect()
    }
}

struct Patient {
    adult: bool,
    hospital_number: String,
    bsn: String,
    person: Person,
    birth: i64,
    address: String,
    phones: String,
}

#[derive(Clone, Copy)]
struct Hospital {
    name: &'static str,
    authority: &'static str,
}

#[derive(Clone, Copy)]
struct Num {
    unit: &'static str,
    decimals: u32,
    ref_low: i64,
    ref_high: i64,
    gen_low: i64,
    gen_high: i64,
    /// Reference range text; empty means `low-high`.
    reference: &'static str,
    /// Values below this are reported as SN `<^floor`.
    floor: Option<i64>,
    /// Values above this are reported as SN `>^ceil`.
    ceil: Option<i64>,
}

#[derive(Clone, Copy)]
enum ValueKind {
    Num(Num),
    Text(&'static [&'static str]),
    /// Test-strip presence, valued with SNOMED CT negative/positive.
    Coded,
}

struct Analyte {
    code: &'static str,
    name: &'static str,
    system: &'static str,
    kind: ValueKind,
}

#[derive(Clone, Copy)]
struct Panel {
    code: &'static str,
    name: &'static str,
    section: &'static str,
    analytes: &'static [Analyte],
}

/// One HL7 segment under construction; `fields[0]` is the segment name.
struct Seg {
    fields: Vec<String>,
}

impl Seg {
    fn new(name: &str) -> Self {
        Self {
            fields: vec![name.to_string()],
        }
    }

    /// MSH, whose field 1 is the field separator itself and field 2 the encoding characters.
    fn msh() -> Self {
        let mut s = Self::new("MSH");
        s.fields.push("^~\\&".to_string());
        s
    }

    fn set(&mut self, n: usize, value: impl Into<String>) {
        if self.fields.len() <= n {
            self.fields.resize(n + 1, String::new());
        }
        self.fields[n] = value.into();
    }

    /// Sets MSH-n (MSH-1 is the separator, so MSH-n lives at index n - 1).
    fn set_msh(&mut self, n: usize, value: impl Into<String>) {
        self.set(n.saturating_sub(1), value);
    }

    fn write(&self, out: &mut String) {
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            out.push_str(f);
        }
        out.push('\r');
    }
}

fn digit_char(d: u64) -> char {
    char::from_digit(u32::try_from(d % 10).unwrap_or(0), 10).unwrap_or('0')
}

fn join_prefix(prefix: &str, surname: &str) -> String {
    if prefix.is_empty() {
        surname.to_string()
    } else {
        format!("{prefix} {surname}")
    }
}

fn allergy_type_text(code: &str) -> &'static str {
    match code {
        "DA" => "Geneesmiddelallergie",
        "FA" => "Voedselallergie",
        "EA" => "Omgevingsallergie",
        _ => "Overige allergie",
    }
}

/// Formats a value scaled by `10^decimals`, e.g. `scaled(54, 1)` is `5.4`.
fn scaled(value: i64, decimals: u32) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let factor = 10_i64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let v = value.abs();
    let width = usize::try_from(decimals).unwrap_or(1);
    format!("{sign}{}.{:0width$}", v / factor, v % factor)
}

// --- Calendar arithmetic, in the model crate's terms (days since 1970-01-01) ---

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let narrow = |v: i64| u32::try_from(v).unwrap_or(1);
    datatypes::days_from_civil(i32::try_from(y).unwrap_or(1970), narrow(m), narrow(d))
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let (y, m, d) = datatypes::civil_from_days(z);
    (i64::from(y), i64::from(m), i64::from(d))
}

/// UTC offset of Dutch local time (CET/CEST) for a local wall-clock time.
fn offset(local: i64) -> &'static str {
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let hour = u32::try_from(local.rem_euclid(86_400) / 3600).unwrap_or(0);
    let narrow = |v: i64| u32::try_from(v).unwrap_or(1);
    match LocalZone::EuropeAmsterdam.offset_minutes(i32::try_from(y).unwrap_or(1970), narrow(m), narrow(d), hour) {
        120 => "+0200",
        _ => "+0100",
    }
}

fn ts_local(local: i64) -> String {
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `YYYYMMDDHHMMSS+ZZZZ` with the Dutch offset in force at that moment.
fn ts(local: i64) -> String {
    format!("{}{}", ts_local(local), offset(local))
}

/// `YYYYMMDDHHMM+ZZZZ`.
fn ts_minutes(local: i64) -> String {
    let full = ts_local(local);
    format!("{}{}", full.get(..12).unwrap_or(&full), offset(local))
}

fn date(local: i64) -> String {
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    format!("{y:04}{m:02}{d:02}")
}

const VEKTIS: &str = "VEKTIS&2.16.840.1.113883.2.4.6.1&ISO";

const HOSPITALS: &[Hospital] = &[
    Hospital {
        name: "Ziekenhuis Rijnstate",
        authority: "RIJNSTATE",
    },
    Hospital {
        name: "Ziekenhuis Lindenhoeve",
        authority: "LINDENHOEVE",
    },
    Hospital {
        name: "Medisch Centrum Polderzicht",
        authority: "POLDERZICHT",
    },
    Hospital {
        name: "Streekziekenhuis Veluwezoom",
        authority: "VELUWEZOOM",
    },
];

const GIVEN_FEMALE: &[&str] = &[
    "Johanna",
    "Maria",
    "Anouk",
    "Sanne",
    "Lieke",
    "Femke",
    "Lotte",
    "Eva",
    "Noor",
    "Sophie",
    "Marloes",
    "Ineke",
    "Annelies",
    "Geertruida",
    "Willemijn",
    "Fleur",
    "Daphne",
    "Hendrika",
];

const GIVEN_MALE: &[&str] = &[
    "Jan", "Piet", "Kees", "Daan", "Bram", "Sem", "Ruben", "Thijs", "Willem", "Hendrik", "Jeroen", "Joost", "Wouter",
    "Gerrit", "Cornelis", "Maarten", "Sjoerd", "Teun",
];

const PREFIXED_SURNAMES: &[(&str, &str)] = &[
    ("van der", "Berg"),
    ("de", "Vries"),
    ("van", "Dijk"),
    ("van den", "Heuvel"),
    ("de", "Jong"),
    ("van", "Leeuwen"),
    ("ter", "Horst"),
    ("van 't", "Hof"),
    ("den", "Hartog"),
    ("in 't", "Veld"),
    ("van de", "Wetering"),
    ("van der", "Linden"),
    ("de", "Boer"),
    ("van", "Beek"),
];

const PLAIN_SURNAMES: &[&str] = &[
    "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters", "Hendriks", "Dekker", "Brouwer",
    "Kok", "Willems", "Kuipers", "Postma", "Hoekstra",
];

const CITIES: &[(&str, &str)] = &[
    ("Arnhem", "68"),
    ("Nijmegen", "65"),
    ("Utrecht", "35"),
    ("Amsterdam", "10"),
    ("Rotterdam", "30"),
    ("Den Haag", "25"),
    ("Zwolle", "80"),
    ("Groningen", "97"),
    ("Eindhoven", "56"),
    ("Maastricht", "62"),
    ("Leiden", "23"),
    ("Ede", "67"),
    ("Apeldoorn", "73"),
    ("Doetinchem", "70"),
];

const STREETS: &[&str] = &[
    "Dorpsstraat",
    "Kerkstraat",
    "Stationsweg",
    "Molenweg",
    "Schoolstraat",
    "Julianalaan",
    "Beatrixstraat",
    "Wilhelminalaan",
    "Lindelaan",
    "Eikenlaan",
    "Sint-Jansstraat",
    "Rijnkade",
    "Utrechtseweg",
    "Prins Hendrikstraat",
    "Oude Gracht",
];

const PRACTICES: &[&str] = &[
    "Huisartsenpraktijk De Linde",
    "Huisartsenpraktijk Het Anker",
    "Gezondheidscentrum De Brink",
    "Huisartsenpraktijk Rijnoever",
    "Huisartsengroep De Vaart",
];

const MARITAL: &[&str] = &[
    "M^Gehuwd^HL70002",
    "S^Ongehuwd^HL70002",
    "D^Gescheiden^HL70002",
    "W^Weduwe/weduwnaar^HL70002",
];

const DEPARTMENTS: &[(&str, &str)] = &[
    ("CAR3", "CAR"),
    ("INT2", "INT"),
    ("CHI4", "CHI"),
    ("NEU1", "NEU"),
    ("LON5", "LON"),
    ("GER2", "GER"),
    ("ORT3", "ORT"),
    ("AFD3", "INT"),
];

const RELATIONSHIPS: &[(&str, &str)] = &[
    ("SPO", "Echtgeno(o)t(e)"),
    ("DOM", "Partner"),
    ("CHD", "Kind"),
    ("PAR", "Ouder"),
    ("SIB", "Broer/zus"),
    ("FND", "Vriend(in)"),
];

const ALLERGIES: &[(&str, &str, &str)] = &[
    ("DA", "PEN", "Penicilline"),
    ("DA", "NSAID", "NSAID's"),
    ("DA", "CONTR", "Jodiumhoudend contrastmiddel"),
    ("FA", "PINDA", "Pinda"),
    ("FA", "SCHAAL", "Schaaldieren"),
    ("EA", "HSM", "Huisstofmijt"),
    ("MA", "LATEX", "Latex"),
];

const DIAGNOSES: &[(&str, &str)] = &[
    ("I21.9", "Acuut myocardinfarct"),
    ("J18.9", "Pneumonie, niet gespecificeerd"),
    ("K35.8", "Acute appendicitis"),
    ("S72.0", "Fractuur van collum femoris"),
    ("I63.9", "Herseninfarct, niet gespecificeerd"),
    ("E11.9", "Diabetes mellitus type 2 zonder complicaties"),
    ("N39.0", "Urineweginfectie"),
    ("I50.9", "Hartfalen, niet gespecificeerd"),
    ("J44.1", "COPD met acute exacerbatie"),
    ("I48.9", "Atriumfibrilleren"),
];

const ADMIT_REASONS: &[&str] = &[
    "^Opname ter observatie",
    "^Pijn op de borst",
    "^Koorts e.c.i.",
    "^Electieve operatie",
    "^Val \\T\\ heupletsel",
    "^Benauwdheid",
];

/// Fictional health insurers with made-up UZOVI codes.
const INSURERS: &[(&str, &str)] = &[
    ("3401", "Zorgverzekeraar Noorderlicht"),
    ("3402", "Polderzorg Verzekeringen"),
    ("3403", "Rivierenland Zorgverzekering"),
    ("3404", "Zorgverzekeraar De Duinen"),
];

const GENERAL_NOTES: &[&str] = &[
    "Afname nuchter.\\.br\\Monster binnen 2 uur verwerkt.",
    "Aanvraag via huisarts \\T\\ specialist.",
    "Spoedaanvraag SEH.\\.br\\Uitslag telefonisch doorgegeven.",
];

const RESULT_NOTES: &[&str] = &[
    "Uitslag gecontroleerd door analist.\\.br\\Referentiewaarden gelden voor volwassenen.",
    "Monster licht gehemolyseerd; kalium mogelijk verhoogd.",
    "Controle over 3 maanden \\T\\ bij afwijking overleg met behandelaar.",
    "Nieuwe referentiewaarden per 1 januari.\\.br\\Zie laboratoriumhandboek.",
];

const fn num(unit: &'static str, decimals: u32, ref_low: i64, ref_high: i64, gen_low: i64, gen_high: i64) -> ValueKind {
    ValueKind::Num(Num {
        unit,
        decimals,
        ref_low,
        ref_high,
        gen_low,
        gen_high,
        reference: "",
        floor: None,
        ceil: None,
    })
}

const fn loinc(code: &'static str, name: &'static str, kind: ValueKind) -> Analyte {
    Analyte {
        code,
        name,
        system: "LN",
        kind,
    }
}

const LIPIDS: &[Analyte] = &[
    loinc("14647-2", "Cholesterol totaal", num("mmol/L", 1, 35, 50, 25, 85)),
    loinc("14646-4", "HDL-cholesterol", num("mmol/L", 2, 90, 200, 50, 280)),
    loinc(
        "22748-8",
        "LDL-cholesterol",
        ValueKind::Num(Num {
            unit: "mmol/L",
            decimals: 1,
            ref_low: 0,
            ref_high: 30,
            gen_low: 10,
            gen_high: 60,
            reference: "<3.0",
            floor: None,
            ceil: None,
        }),
    ),
    loinc(
        "14927-8",
        "Triglyceriden",
        ValueKind::Num(Num {
            unit: "mmol/L",
            decimals: 1,
            ref_low: 0,
            ref_high: 20,
            gen_low: 3,
            gen_high: 50,
            reference: "<2.0",
            floor: None,
            ceil: None,
        }),
    ),
    loinc("9830-1", "Cholesterol/HDL-ratio", num("{ratio}", 1, 0, 50, 20, 90)),
];

const RENAL: &[Analyte] = &[
    loinc("2951-2", "Natrium", num("mmol/L", 0, 135, 145, 125, 152)),
    loinc("2823-3", "Kalium", num("mmol/L", 1, 35, 50, 28, 62)),
    loinc("14682-9", "Kreatinine", num("umol/L", 0, 60, 110, 40, 250)),
    loinc("22664-7", "Ureum", num("mmol/L", 1, 25, 75, 15, 250)),
    loinc(
        "62238-1",
        "eGFR (CKD-EPI)",
        ValueKind::Num(Num {
            unit: "mL/min/{1.73_m2}",
            decimals: 0,
            ref_low: 60,
            ref_high: 130,
            gen_low: 15,
            gen_high: 130,
            reference: ">60",
            floor: None,
            ceil: Some(90),
        }),
    ),
];

const BLOOD_COUNT: &[Analyte] = &[
    loinc("59260-0", "Hemoglobine", num("mmol/L", 1, 75, 110, 55, 120)),
    loinc("4544-3", "Hematocriet", num("L/L", 2, 35, 50, 28, 55)),
    loinc("789-8", "Erytrocyten", num("10*12/L", 1, 40, 55, 30, 62)),
    loinc("787-2", "MCV", num("fL", 0, 80, 100, 70, 110)),
    loinc("6690-2", "Leukocyten", num("10*9/L", 1, 40, 100, 20, 250)),
    loinc("777-3", "Trombocyten", num("10*9/L", 0, 150, 400, 60, 600)),
];

const LIVER: &[Analyte] = &[
    loinc("1742-6", "ALAT", num("U/L", 0, 0, 45, 5, 250)),
    loinc("1920-8", "ASAT", num("U/L", 0, 0, 40, 8, 200)),
    loinc("6768-6", "Alkalische fosfatase", num("U/L", 0, 40, 120, 30, 400)),
    loinc("2324-2", "Gamma-GT", num("U/L", 0, 0, 55, 8, 300)),
    loinc("14631-6", "Bilirubine totaal", num("umol/L", 0, 0, 17, 3, 60)),
];

const VITALS: &[Analyte] = &[
    loinc("8480-6", "Systolische bloeddruk", num("mm[Hg]", 0, 90, 140, 85, 190)),
    loinc("8462-4", "Diastolische bloeddruk", num("mm[Hg]", 0, 60, 90, 45, 115)),
    loinc("8867-4", "Hartfrequentie", num("/min", 0, 60, 100, 45, 130)),
    loinc("8310-5", "Lichaamstemperatuur", num("Cel", 1, 361, 375, 355, 400)),
    loinc("59408-5", "Zuurstofsaturatie (SpO2)", num("%", 0, 95, 100, 86, 100)),
    loinc("9279-1", "Ademhalingsfrequentie", num("/min", 0, 12, 20, 10, 30)),
];

const URINE: &[Analyte] = &[
    loinc("5802-4", "Nitriet (teststrook)", ValueKind::Coded),
    loinc("5799-2", "Leukocyten urine (teststrook)", ValueKind::Coded),
    loinc("20454-5", "Eiwit urine (teststrook)", ValueKind::Coded),
    loinc("25428-4", "Glucose urine (teststrook)", ValueKind::Coded),
    loinc("5803-2", "pH urine (teststrook)", num("[pH]", 1, 50, 80, 45, 85)),
];

const PANELS: &[Panel] = &[
    Panel {
        code: "24331-1",
        name: "Lipid panel",
        section: "CH",
        analytes: LIPIDS,
    },
    Panel {
        code: "24362-6",
        name: "Nierfunctie",
        section: "CH",
        analytes: RENAL,
    },
    Panel {
        code: "58410-2",
        name: "Bloedbeeld",
        section: "HM",
        analytes: BLOOD_COUNT,
    },
    Panel {
        code: "24325-3",
        name: "Leverfuncties",
        section: "CH",
        analytes: LIVER,
    },
    Panel {
        code: "85353-1",
        name: "Vitale functies",
        section: "",
        analytes: VITALS,
    },
    Panel {
        code: "24357-6",
        name: "Urinestick",
        section: "UR",
        analytes: URINE,
    },
];

const EXTRAS: &[Analyte] = &[
    loinc(
        "1988-5",
        "CRP",
        ValueKind::Num(Num {
            unit: "mg/L",
            decimals: 0,
            ref_low: 0,
            ref_high: 10,
            gen_low: 0,
            gen_high: 180,
            reference: "<10",
            floor: Some(5),
            ceil: None,
        }),
    ),
    loinc("14749-6", "Glucose", num("mmol/L", 1, 40, 78, 30, 200)),
    loinc("59261-8", "HbA1c (IFCC)", num("mmol/mol", 0, 20, 42, 25, 90)),
    loinc("3016-3", "TSH", num("mU/L", 2, 40, 400, 5, 1500)),
    loinc("14920-3", "Vrij T4", num("pmol/L", 1, 100, 240, 50, 400)),
    loinc("2276-4", "Ferritine", num("ug/L", 0, 20, 300, 5, 800)),
    loinc("2000-8", "Calcium", num("mmol/L", 2, 220, 260, 190, 300)),
    loinc("2532-0", "LD", num("U/L", 0, 0, 250, 100, 600)),
    loinc("2951-2", "Natrium", num("mmol/L", 0, 135, 145, 125, 152)),
    loinc("2823-3", "Kalium", num("mmol/L", 1, 35, 50, 28, 62)),
    loinc("59260-0", "Hemoglobine", num("mmol/L", 1, 75, 110, 55, 120)),
    loinc("6690-2", "Leukocyten", num("10*9/L", 1, 40, 100, 20, 250)),
    loinc("5802-4", "Nitriet (teststrook)", ValueKind::Coded),
    Analyte {
        code: "OPM",
        name: "Opmerking laboratorium",
        system: "L",
        kind: ValueKind::Text(&[
            "Monster licht gehemolyseerd",
            "Nuchter afgenomen \\T\\ direct verwerkt",
            "Lipemisch serum, interpretatie met voorzichtigheid",
            "Herhaling op verzoek van aanvrager",
        ]),
    },
    Analyte {
        code: "MAT",
        name: "Materiaal",
        system: "L",
        kind: ValueKind::Text(&["Veneus bloed", "Serum", "Urine (midstream)", "EDTA-bloed"]),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn eleven_check(bsn: &str) -> bool {
        let digits: Vec<u32> = bsn.chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() != 9 || bsn.len() != 9 || digits.iter().all(|&d| d == 0) {
            return false;
        }
        let mut sum: i64 = 0;
        for (i, &d) in digits.iter().enumerate().take(8) {
            sum += i64::from(d) * (9 - i64::try_from(i).unwrap_or(0));
        }
        sum -= i64::from(digits[8]);
        sum % 11 == 0
    }

    fn bsns(message: &str) -> Vec<String> {
        let mut found = Vec::new();
        for segment in message.split('\r').filter(|s| s.starts_with("PID|")) {
            if let Some(pid3) = segment.split('|').nth(3) {
                for rep in pid3.split('~') {
                    let comps: Vec<&str> = rep.split('^').collect();
                    if comps.get(3) == Some(&"NLMINBIZA") {
                        found.push(comps[0].to_string());
                    }
                }
            }
        }
        found
    }

    #[test]
    fn deterministic() {
        let mut a = Generator::new(42);
        let mut b = Generator::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_message(), b.next_message());
        }
        let mut c = Generator::new(43);
        let mut d = Generator::new(42);
        assert_ne!(c.next_message(), d.next_message());
    }

    #[test]
    fn sizes_within_bounds() {
        for seed in [0_u64, 1, 7, 42, u64::MAX] {
            let mut g = Generator::new(seed);
            for _ in 0..200 {
                let m = g.next_message();
                assert!(
                    (700..=3500).contains(&m.len()),
                    "size {} out of range:\n{}",
                    m.len(),
                    m.replace('\r', "\n")
                );
            }
        }
    }

    #[test]
    fn well_formed() {
        let mut g = Generator::new(7);
        let mut ids = std::collections::HashSet::new();
        let mut types = std::collections::HashMap::new();
        for _ in 0..400 {
            let m = g.next_message();
            assert!(m.starts_with("MSH|^~\\&|"));
            assert!(m.ends_with('\r'));
            assert!(!m.contains('\n'));
            for segment in m.trim_end_matches('\r').split('\r') {
                let name = segment.get(..3).unwrap_or("");
                assert!(
                    name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
                    "{segment}"
                );
                assert_eq!(segment.as_bytes().get(3), Some(&b'|'), "{segment}");
            }
            let msh: Vec<&str> = m.split('\r').next().unwrap_or("").split('|').collect();
            assert_eq!(msh[11], "2.5");
            assert!(ids.insert(msh[9].to_string()), "duplicate control id");
            *types.entry(msh[8].to_string()).or_insert(0_u32) += 1;
        }
        for t in [
            "ADT^A01^ADT_A01",
            "ADT^A03^ADT_A03",
            "ADT^A08^ADT_A01",
            "ORU^R01^ORU_R01",
        ] {
            assert!(types.get(t).copied().unwrap_or(0) > 20, "{t}: {types:?}");
        }
        let oru = types.get("ORU^R01^ORU_R01").copied().unwrap_or(0);
        assert!((140..=260).contains(&oru), "ORU share {oru}/400");
    }

    #[test]
    fn oru_has_3_to_12_obx() {
        let mut g = Generator::new(99);
        let mut saw_sn = false;
        for _ in 0..200 {
            let m = g.next_message();
            if m.contains("|ORU^R01^") {
                let n = m.split('\r').filter(|s| s.starts_with("OBX|")).count();
                assert!((3..=12).contains(&n), "{n} OBX");
                saw_sn |= m.contains("|SN|");
            }
        }
        assert!(saw_sn);
    }

    #[test]
    fn every_bsn_passes_eleven_check() {
        let mut g = Generator::new(2024);
        let mut seen = 0;
        for _ in 0..200 {
            let m = g.next_message();
            let found = bsns(&m);
            assert_eq!(found.len(), 1);
            for bsn in found {
                assert!(eleven_check(&bsn), "invalid BSN {bsn}");
                seen += 1;
            }
        }
        assert_eq!(seen, 200);
        assert!(eleven_check("999911120"));
        assert!(!eleven_check("123456789"));
    }

    #[test]
    fn timestamps_use_dutch_offsets() {
        // 2026-07-15 10:30 is summer time, 2026-11-24 09:30 winter time.
        let summer = days_from_civil(2026, 7, 15) * 86_400 + 10 * 3600 + 1800;
        let winter = days_from_civil(2026, 11, 24) * 86_400 + 9 * 3600 + 1800;
        assert_eq!(ts(summer), "20260715103000+0200");
        assert_eq!(ts(winter), "20261124093000+0100");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }
}
