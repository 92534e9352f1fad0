//! docs/operations.md ("Monitoring") lists exactly the metrics of the
//! catalogue, each with its type.

use zorgpoort_metrics::catalogue::ALL;

#[test]
fn the_operations_guide_lists_every_metric_with_its_type() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md");
    let guide = std::fs::read_to_string(path).unwrap_or_default();
    let documented: Vec<(&str, &str)> = guide
        .lines()
        .filter_map(|line| {
            let mut cells = line.strip_prefix("| `zorgpoort_")?.split(" | ");
            let name = cells.next()?.strip_suffix('`')?;
            Some((name, cells.next()?))
        })
        .collect();
    let exported: Vec<(&str, &str)> = ALL
        .iter()
        .map(|metric| (metric.name.trim_start_matches("zorgpoort_"), metric.kind.as_str()))
        .collect();
    assert_eq!(
        documented, exported,
        "docs/operations.md, Monitoring, against catalogue.rs"
    );
}
