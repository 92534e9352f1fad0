//! The gateway's metrics and their Prometheus text exposition, without a
//! metrics framework.
//!
//! Every metric the gateway exports is a [`Metric`] in [`catalogue`], with
//! its kind and help text, so the scrape output and docs/operations.md
//! describe the same set. Counters and histograms live in a [`Metrics`]
//! registry that the listeners, the intake and the deliverer share; gauges
//! (queue depth and the like) are read from the store at scrape time and
//! passed to [`Metrics::render`].

pub mod catalogue;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// What kind of value a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up: events since the gateway started.
    Counter,
    /// Durations in seconds, counted per bucket.
    Histogram,
    /// A value read when scraped (how many deliveries wait, say).
    Gauge,
}

impl Kind {
    /// The name in a `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Histogram => "histogram",
            Self::Gauge => "gauge",
        }
    }
}

/// One exported metric: its name, kind, labels and meaning.
#[derive(Debug)]
pub struct Metric {
    /// The Prometheus name (`zorgpoort_...`).
    pub name: &'static str,
    /// Counter, histogram or gauge.
    pub kind: Kind,
    /// The label names it carries, in order.
    pub labels: &'static [&'static str],
    /// The `# HELP` text.
    pub help: &'static str,
}

/// Upper bounds (seconds) of the histogram buckets: 50 µs to 10 s, enough
/// to see a 1 ms ACK and a 5 s delivery timeout in the same scale.
pub const BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Counts per bucket (not cumulative; summed when rendered), their sum and count.
#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum_seconds: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket] += 1;
        }
        self.sum_seconds += seconds;
        self.count += 1;
    }
}

/// Series by metric name and rendered label set (`key="value",...`).
type Series<T> = BTreeMap<(&'static str, String), T>;

/// A gauge read at scrape time: the metric and its series (label values, value).
pub type Gauge = (&'static Metric, Vec<(Vec<String>, u64)>);

/// Counters and histograms, by metric and label values.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Series<u64>>,
    histograms: Mutex<Series<Histogram>>,
}

impl Metrics {
    /// Adds one to the counter `metric` with these label values (in the
    /// order of `metric.labels`).
    pub fn increment(&self, metric: &'static Metric, values: &[&str]) {
        debug_assert_eq!(metric.kind, Kind::Counter, "{}", metric.name);
        let key = (metric.name, labels(metric, values));
        if let Ok(mut counters) = self.counters.lock() {
            *counters.entry(key).or_insert(0) += 1;
        }
    }

    /// Counts `elapsed` into the histogram `metric` with these label values.
    pub fn observe(&self, metric: &'static Metric, values: &[&str], elapsed: Duration) {
        debug_assert_eq!(metric.kind, Kind::Histogram, "{}", metric.name);
        let key = (metric.name, labels(metric, values));
        if let Ok(mut histograms) = self.histograms.lock() {
            histograms.entry(key).or_default().observe(elapsed.as_secs_f64());
        }
    }

    /// The Prometheus exposition text of every metric in the catalogue,
    /// with the gauges read just now: each gauge with its series (label
    /// values, value). A metric without series yet is still described; one
    /// without labels reads 0.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        self.render_only(&catalogue::ALL, gauges)
    }

    fn render_only(&self, described: &[&'static Metric], gauges: &[Gauge]) -> String {
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let histograms = self.histograms.lock().map(|h| h.clone()).unwrap_or_default();
        let mut out = String::new();
        for metric in described {
            let _ = writeln!(out, "# HELP {} {}", metric.name, metric.help);
            let _ = writeln!(out, "# TYPE {} {}", metric.name, metric.kind.as_str());
            let name = metric.name;
            let mut written = false;
            for (labels, value) in series(&counters, name) {
                let _ = writeln!(out, "{name}{} {value}", braced(labels));
                written = true;
            }
            for (labels, histogram) in series(&histograms, name) {
                let mut cumulative = 0;
                for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                    cumulative += count;
                    let _ = writeln!(out, "{name}_bucket{} {cumulative}", with_le(labels, &bound.to_string()));
                }
                let _ = writeln!(out, "{name}_bucket{} {}", with_le(labels, "+Inf"), histogram.count);
                let _ = writeln!(out, "{name}_sum{} {}", braced(labels), histogram.sum_seconds);
                let _ = writeln!(out, "{name}_count{} {}", braced(labels), histogram.count);
                written = true;
            }
            for (values, value) in gauges
                .iter()
                .filter(|(gauge, _)| gauge.name == name)
                .flat_map(|(_, s)| s)
            {
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                let _ = writeln!(out, "{name}{} {value}", braced(&labels(metric, &values)));
                written = true;
            }
            if !written && metric.labels.is_empty() && metric.kind == Kind::Counter {
                let _ = writeln!(out, "{name} 0");
            }
        }
        out
    }
}

/// The series of the metric `name` in a map ordered by name and labels.
fn series<'m, T>(map: &'m Series<T>, name: &'static str) -> impl Iterator<Item = (&'m String, &'m T)> {
    map.range((name, String::new())..)
        .take_while(move |((n, _), _)| *n == name)
        .map(|((_, labels), value)| (labels, value))
}

/// `key="value"` pairs, values escaped as the text format asks.
fn labels(metric: &Metric, values: &[&str]) -> String {
    debug_assert_eq!(metric.labels.len(), values.len(), "{}", metric.name);
    let mut rendered = String::new();
    for (i, (key, value)) in metric.labels.iter().zip(values).enumerate() {
        if i > 0 {
            rendered.push(',');
        }
        // Escaped as the text format asks; most values need none.
        let value: Cow<'_, str> = if value.contains(['\\', '"', '\n']) {
            value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
                .into()
        } else {
            (*value).into()
        };
        let _ = write!(rendered, "{key}=\"{value}\"");
    }
    rendered
}

fn braced(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

fn with_le(labels: &str, le: &str) -> String {
    if labels.is_empty() {
        format!("{{le=\"{le}\"}}")
    } else {
        format!("{{{labels},le=\"{le}\"}}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Kind, Metric, Metrics};

    const ALL: [&Metric; 3] = [&REQUESTS, &LATENCY, &DEPTH];

    static REQUESTS: Metric = Metric {
        name: "t_requests_total",
        kind: Kind::Counter,
        labels: &["route", "status"],
        help: "Requests.",
    };
    static LATENCY: Metric = Metric {
        name: "t_seconds",
        kind: Kind::Histogram,
        labels: &["route"],
        help: "Latency.",
    };
    static DEPTH: Metric = Metric {
        name: "t_depth",
        kind: Kind::Gauge,
        labels: &["queue"],
        help: "Depth.",
    };

    #[test]
    fn renders_counters_with_help_type_and_escaped_labels() {
        let metrics = Metrics::default();
        metrics.increment(&REQUESTS, &["/hl7v2", "200"]);
        metrics.increment(&REQUESTS, &["/hl7v2", "200"]);
        metrics.increment(&REQUESTS, &["/a\"b", "404"]);
        assert_eq!(
            metrics.render_only(&ALL[..1], &[]),
            "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n\
             t_requests_total{route=\"/a\\\"b\",status=\"404\"} 1\n\
             t_requests_total{route=\"/hl7v2\",status=\"200\"} 2\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let metrics = Metrics::default();
        metrics.observe(&LATENCY, &["/x"], Duration::from_micros(700));
        metrics.observe(&LATENCY, &["/x"], Duration::from_micros(800));
        metrics.observe(&LATENCY, &["/x"], Duration::from_secs(20));
        let text = metrics.render_only(&ALL, &[]);
        assert!(text.contains("# TYPE t_seconds histogram\n"), "{text}");
        assert!(
            text.contains("t_seconds_bucket{route=\"/x\",le=\"0.0005\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("t_seconds_bucket{route=\"/x\",le=\"0.001\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("t_seconds_bucket{route=\"/x\",le=\"10\"} 2\n"), "{text}");
        assert!(
            text.contains("t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("t_seconds_count{route=\"/x\"} 3\n"), "{text}");
        let sum: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix("t_seconds_sum{route=\"/x\"} "))
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        assert!((sum - 20.0015).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn gauges_follow_with_their_series() {
        let metrics = Metrics::default();
        let text = metrics.render_only(
            &ALL[2..],
            &[(&DEPTH, vec![(vec!["a".into()], 3), (vec!["b".into()], 0)])],
        );
        assert_eq!(
            text,
            "# HELP t_depth Depth.\n# TYPE t_depth gauge\nt_depth{queue=\"a\"} 3\nt_depth{queue=\"b\"} 0\n"
        );
    }

    #[test]
    fn every_metric_is_described_before_it_has_series() {
        static REFUSED: Metric = Metric {
            name: "t_refused_total",
            kind: Kind::Counter,
            labels: &[],
            help: "Refused.",
        };
        let text = Metrics::default().render_only(&[&REQUESTS, &REFUSED], &[]);
        assert_eq!(
            text,
            "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n\
             # HELP t_refused_total Refused.\n# TYPE t_refused_total counter\nt_refused_total 0\n"
        );
    }
}
