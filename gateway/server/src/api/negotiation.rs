//! Content negotiation: the API answers in JSON only (FHIR JSON, R4 or
//! STU3), so a caller whose `Accept` or `_format` allows no JSON gets 406
//! rather than JSON it did not ask for. `_format` is consumed here; the
//! handlers never see it.

use axum::extract::Request;
use axum::http::{Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::outcome::{ApiError, Problem};

/// The media types (and `_format` values) that mean JSON.
const JSON: &[&str] = &[
    "application/fhir+json",
    "application/json",
    "application/json+fhir",
    "json",
];

/// Refuses a request that accepts no JSON; passes the rest on without `_format`.
pub async fn json_only(mut request: Request, next: Next) -> Response {
    if let Some(accept) = request.headers().get(header::ACCEPT) {
        let accept = accept.to_str().unwrap_or_default();
        if !accepts_json(accept) {
            return not_acceptable("Accept", accept);
        }
    }
    let Some(query) = request.uri().query() else {
        return next.run(request).await;
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("_format=") {
            Some(format) => {
                let format = format
                    .replace("%2B", "+")
                    .replace("%2b", "+")
                    .replace("%2F", "/")
                    .replace("%2f", "/");
                if !JSON.contains(&essence(&format).as_str()) {
                    return not_acceptable("_format", &format);
                }
            }
            None => kept.push(pair),
        }
    }
    if kept.len() != query.split('&').count() {
        match without_format(request.uri(), &kept.join("&")) {
            Some(uri) => *request.uri_mut() = uri,
            None => return ApiError::invalid("_format", "the URL without _format is not valid").into_response(),
        }
    }
    next.run(request).await
}

/// Whether an `Accept` value allows JSON: any media range of JSON, or a
/// wildcard, with a quality above zero.
fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        !refused && (media == "*/*" || media == "application/*" || JSON.contains(&media.as_str()))
    })
}

/// A media type without its parameters, lower case.
fn essence(media: &str) -> String {
    media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn without_format(uri: &Uri, query: &str) -> Option<Uri> {
    let path_and_query = if query.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{query}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

fn not_acceptable(what: &str, value: &str) -> Response {
    let shown: String = value.chars().take(100).collect();
    ApiError::new(
        Problem::NotAcceptable,
        format!("{what}: {shown:?} allows no JSON; this gateway answers in FHIR JSON only (application/fhir+json)"),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_or_a_wildcard_is_accepted_and_xml_alone_is_not() {
        for accepted in [
            "application/fhir+json",
            "application/fhir+json; fhirVersion=3.0",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/*",
            "application/fhir+xml;q=0.9, application/json;q=0.5",
        ] {
            assert!(accepts_json(accepted), "{accepted}");
        }
        for refused in [
            "application/fhir+xml",
            "text/html",
            "application/json;q=0",
            "*/*;q=0, application/xml",
        ] {
            assert!(!accepts_json(refused), "{refused}");
        }
    }
}
