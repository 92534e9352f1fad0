//! The validation step of the pipeline (`[validation]`): conversion output
//! and FHIR that callers supply are checked against the R4 schema and the
//! nl-core profiles, and then passed on (`off`), passed on with a logged
//! warning (`warn`, the default) or refused with the findings (`reject`).
//!
//! FHIR a caller supplies (R4 and STU3 bodies, Consents) is always checked.
//! The gateway's own conversions are conformant by construction (every
//! adapter's output is validated in CI over the corpora and generated
//! messages, ADR 0009), so `warn` checks a sample of them (`sample`, by
//! default one in a hundred) to catch a drift in production without paying
//! for a check of every message; `reject` checks every one, since it
//! refuses what fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;
use zorgpoort_metrics::{Metrics, catalogue};
use zorgpoort_profiles::{Issue, ProfileChoice, Severity, has_errors, validate};

/// What the gateway does with data that does not validate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// Do not validate.
    Off,
    /// Validate; log what does not conform (where, never values) and pass it on.
    #[default]
    Warn,
    /// Validate; refuse what has errors, answering with the findings.
    Reject,
}

/// `[validation]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    /// `off`, `warn` or `reject`.
    pub mode: ValidationMode,
    /// In `warn` mode, the share of the gateway's own conversions that is
    /// checked, from 0 to 1 (1: all of them).
    pub sample: Share,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            mode: ValidationMode::Warn,
            sample: Share::DEFAULT_SAMPLE,
        }
    }
}

/// A share from 0 to 1, kept in millionths so sampling is exact integer
/// arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Share {
    millionths: u64,
}

impl Share {
    /// One in a hundred.
    pub const DEFAULT_SAMPLE: Self = Self { millionths: 10_000 };
    /// All of them.
    pub const ALL: Self = Self { millionths: 1_000_000 };
}

impl TryFrom<f64> for Share {
    type Error = String;

    fn try_from(share: f64) -> Result<Self, Self::Error> {
        if (0.0..=1.0).contains(&share) {
            // In range, so the product fits.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let millionths = (share * 1_000_000.0).round() as u64;
            Ok(Self { millionths })
        } else {
            Err(format!("{share} is not a share from 0 to 1"))
        }
    }
}

/// Where a resource to check comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The gateway's own conversion of HL7 v2, CDA, EDIFACT or an ECD export.
    Conversion,
    /// FHIR a caller wrote (R4 or STU3 bodies, Consents): always checked.
    Supplied,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Conversion => "conversion",
            Self::Supplied => "supplied",
        }
    }
}

/// Findings that made the gateway refuse data (in `reject` mode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} errors, the first at {}: {}", self.errors(), self.first().0, self.first().1)]
pub struct Nonconformant(pub Vec<Issue>);

impl Nonconformant {
    fn errors(&self) -> usize {
        self.0.iter().filter(|issue| issue.severity == Severity::Error).count()
    }

    /// The first error's expression and message.
    pub fn first(&self) -> (&str, &str) {
        self.0
            .iter()
            .find(|issue| issue.severity == Severity::Error)
            .map_or(("", ""), |issue| (issue.expression.as_str(), issue.message.as_str()))
    }
}

/// The configured validation, shared by every path that takes data in.
#[derive(Debug)]
pub struct Validation {
    mode: ValidationMode,
    sample: Share,
    /// Conversions seen so far, for the sample.
    conversions: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Validation {
    /// `config` applied, counted and timed in `metrics`.
    pub fn new(config: ValidationConfig, metrics: Arc<Metrics>) -> Self {
        Self {
            mode: config.mode,
            sample: config.sample,
            conversions: AtomicU64::new(0),
            metrics,
        }
    }

    /// Applies the mode to `resource` from `source`; `what` names it in
    /// the log (`conversion output`, `Consent`).
    pub fn check(&self, source: Source, what: &'static str, resource: &Value) -> Result<(), Nonconformant> {
        if !self.chosen(source) {
            return Ok(());
        }
        self.judge(source, what, resource)
    }

    /// [`Self::check`] for JSON text, made by `json` only when checked.
    pub fn check_text<T: AsRef<str>>(
        &self,
        source: Source,
        what: &'static str,
        json: impl FnOnce() -> T,
    ) -> Result<(), Nonconformant> {
        if !self.chosen(source) {
            return Ok(());
        }
        match serde_json::from_str::<Value>(json().as_ref()) {
            Ok(resource) => self.judge(source, what, &resource),
            Err(error) => Err(Nonconformant(vec![Issue::error(
                zorgpoort_profiles::IssueType::Structure,
                "",
                format!("not JSON: {error}"),
            )])),
        }
    }

    /// Whether this resource is checked; a conversion left out of the
    /// sample is counted as skipped.
    fn chosen(&self, source: Source) -> bool {
        let chosen = match (self.mode, source) {
            (ValidationMode::Off, _) => return false,
            (ValidationMode::Reject, _) | (_, Source::Supplied) => true,
            (ValidationMode::Warn, Source::Conversion) => {
                // The n-th conversion is checked when the share's running
                // total, rounded up, steps: the first one, then one per
                // 1/share (every 100th at 0.01).
                let n = self.conversions.fetch_add(1, Ordering::Relaxed);
                let share = self.sample.millionths;
                n.wrapping_mul(share).div_ceil(1_000_000) != (n + 1).wrapping_mul(share).div_ceil(1_000_000)
            }
        };
        if !chosen {
            self.metrics
                .increment(&catalogue::VALIDATIONS, &[source.as_str(), "skipped"]);
        }
        chosen
    }

    fn judge(&self, source: Source, what: &'static str, resource: &Value) -> Result<(), Nonconformant> {
        let started = Instant::now();
        let issues = validate(resource, ProfileChoice::Claimed);
        self.metrics
            .observe(&catalogue::VALIDATION_SECONDS, &[source.as_str()], started.elapsed());
        let conformant = !has_errors(&issues);
        let result = if conformant { "conformant" } else { "nonconformant" };
        self.metrics
            .increment(&catalogue::VALIDATIONS, &[source.as_str(), result]);
        if conformant {
            return Ok(());
        }
        if self.mode == ValidationMode::Reject {
            return Err(Nonconformant(issues));
        }
        let errors = issues.iter().filter(|issue| issue.severity == Severity::Error);
        let first = errors
            .clone()
            .next()
            .map(|issue| issue.expression.as_str())
            .unwrap_or_default();
        // Expressions and issue codes only: messages may quote values.
        tracing::warn!(
            what,
            source = source.as_str(),
            errors = errors.count(),
            first,
            "does not validate against nl-core; passed on"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::{Share, Source, Validation, ValidationConfig, ValidationMode};

    fn validation(mode: ValidationMode, sample: f64) -> Validation {
        let sample = Share::try_from(sample).unwrap_or(Share::ALL);
        Validation::new(ValidationConfig { mode, sample }, Arc::default())
    }

    /// A Patient whose BSN fails the 11-check: an nl-core error.
    fn nonconformant() -> serde_json::Value {
        json!({
            "resourceType": "Patient",
            "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "123456789"}]
        })
    }

    fn refused(validation: &Validation, source: Source, n: usize) -> usize {
        (0..n)
            .filter(|_| validation.check(source, "test", &nonconformant()).is_err())
            .count()
    }

    #[test]
    fn reject_checks_every_conversion_whatever_the_sample() {
        assert_eq!(
            refused(&validation(ValidationMode::Reject, 0.0), Source::Conversion, 50),
            50
        );
        assert_eq!(
            refused(&validation(ValidationMode::Reject, 0.01), Source::Conversion, 50),
            50
        );
    }

    #[test]
    fn warn_checks_the_first_conversion_then_one_in_a_hundred() {
        let validation = validation(ValidationMode::Warn, 0.01);
        for _ in 0..250 {
            assert_eq!(validation.check(Source::Conversion, "test", &nonconformant()), Ok(()));
        }
        let text = validation.metrics.render(&[]);
        assert!(
            text.contains("zorgpoort_validations_total{source=\"conversion\",result=\"nonconformant\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("zorgpoort_validations_total{source=\"conversion\",result=\"skipped\"} 247\n"),
            "{text}"
        );
        assert!(
            text.contains("zorgpoort_validation_seconds_count{source=\"conversion\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn warn_checks_all_supplied_fhir_and_none_at_a_zero_sample() {
        let validation = validation(ValidationMode::Warn, 0.0);
        validation.check(Source::Supplied, "test", &nonconformant()).ok();
        validation.check(Source::Supplied, "test", &nonconformant()).ok();
        validation.check(Source::Conversion, "test", &nonconformant()).ok();
        let text = validation.metrics.render(&[]);
        assert!(
            text.contains("zorgpoort_validations_total{source=\"supplied\",result=\"nonconformant\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("zorgpoort_validations_total{source=\"conversion\",result=\"skipped\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_full_sample_checks_every_conversion_and_off_none() {
        let all = validation(ValidationMode::Warn, 1.0);
        for _ in 0..5 {
            all.check_text(Source::Conversion, "test", || nonconformant().to_string())
                .ok();
        }
        assert!(all.metrics.render(&[]).contains("result=\"nonconformant\"} 5\n"));
        let off = validation(ValidationMode::Off, 1.0);
        assert_eq!(refused(&off, Source::Supplied, 3), 0);
        assert!(!off.metrics.render(&[]).contains("zorgpoort_validations_total{"));
    }

    #[test]
    fn a_share_outside_zero_to_one_is_refused_with_the_value() {
        assert_eq!(Share::try_from(1.5), Err("1.5 is not a share from 0 to 1".to_owned()));
        assert!(Share::try_from(-0.1).is_err());
        assert!(Share::try_from(f64::NAN).is_err());
        assert_eq!(Share::try_from(0.25), Ok(Share { millionths: 250_000 }));
    }
}
