//! Dutch surnames: split a family name into voorvoegsel (prefix such as
//! "van der") and the name proper, as the nl-core `humanname-own-prefix` and
//! `humanname-own-name` extensions want them.

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

#[cfg(test)]
mod tests {
    use super::split_prefix;

    #[test]
    fn splits_the_longest_prefix() {
        assert_eq!(split_prefix("van der Berg"), Some(("van der", "Berg")));
        assert_eq!(split_prefix("Van den Heuvel"), Some(("Van den", "Heuvel")));
        assert_eq!(split_prefix("de Vries"), Some(("de", "Vries")));
        assert_eq!(split_prefix("Jansen"), None);
        assert_eq!(split_prefix("van"), None);
        assert_eq!(split_prefix("Vandenberg"), None);
    }
}
