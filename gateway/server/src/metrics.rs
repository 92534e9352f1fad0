//! Counters in the Prometheus text format, without a metrics framework:
//! a handful of labelled counters is all the gateway exports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Labelled counters, by metric name and label set.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Metrics {
    /// Adds one to `name{labels}`; labels are `key="value"` pairs.
    pub fn increment(&self, name: &'static str, labels: &[(&str, &str)]) {
        let mut rendered = String::new();
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                rendered.push(',');
            }
            let value = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = write!(rendered, "{key}=\"{value}\"");
        }
        if let Ok(mut counters) = self.counters.lock() {
            *counters.entry((name, rendered)).or_insert(0) += 1;
        }
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(counters) = self.counters.lock() else { return out };
        let mut last = "";
        for ((name, labels), value) in counters.iter() {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.increment(
            "zorgpoort_http_requests_total",
            &[("route", "/hl7v2"), ("status", "200")],
        );
        m.increment(
            "zorgpoort_http_requests_total",
            &[("route", "/hl7v2"), ("status", "200")],
        );
        m.increment("zorgpoort_mllp_messages_total", &[("ack", "AA")]);
        assert_eq!(
            m.render(),
            "# TYPE zorgpoort_http_requests_total counter\nzorgpoort_http_requests_total{route=\"/hl7v2\",status=\"200\"} 2\n\
             # TYPE zorgpoort_mllp_messages_total counter\nzorgpoort_mllp_messages_total{ack=\"AA\"} 1\n"
        );
    }
}
