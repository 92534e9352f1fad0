//! Bundle: the entries' resources are converted one by one; an entry whose
//! resource type is not supported is left out with a warning, and so is
//! every reference to it from the other entries.

use serde_json::Value;

use crate::Error;
use crate::engine::{Ctx, Dir, Res, nested, want_arr, want_obj, want_str};
use crate::references::{LeftOut, renamed_request_url};

pub(super) fn bundle(ctx: &mut Ctx, r: &mut Res<'_>) -> Result<(), Error> {
    r.same(&["identifier", "type", "total", "link"]);
    if r.take("signature").is_some() {
        ctx.warn(
            r.loc("signature"),
            "a signature over the source version cannot hold for the converted Bundle; left out",
        );
    }
    let Some(entries) = r.take("entry") else {
        return Ok(());
    };
    let loc = r.loc("entry");
    let list = want_arr(entries, &loc)?;
    if list.len() > ctx.limits.max_entries {
        return Err(Error::TooManyEntries {
            path: loc,
            max_entries: ctx.limits.max_entries,
        });
    }
    let mut out = Vec::with_capacity(list.len());
    let mut kept = Vec::with_capacity(list.len());
    let mut left_out = LeftOut::default();
    for (i, entry) in list.iter().enumerate() {
        let at = format!("{loc}[{i}]");
        let mut e = Res::new(want_obj(entry, &at)?, at);
        e.same(&["id", "extension", "link", "fullUrl", "search"]);
        e.modifier_extension(ctx);
        if let Some(resource) = e.take("resource") {
            let Some(converted) = nested(ctx, resource, &e.loc("resource"), "entry")? else {
                // The entry is left out as a whole (warned by nested); its
                // other elements, and the references to it, go with it.
                left_out.add(entry.get("fullUrl").and_then(Value::as_str), resource);
                continue;
            };
            e.put("resource", converted);
        }
        e.backbone(ctx, "request", "request", request)?;
        e.backbone(ctx, "response", "response", |ctx, resp| {
            resp.same(&["status", "location", "etag", "lastModified"]);
            if let Some(outcome) = resp.take("outcome")
                && let Some(converted) = nested(ctx, outcome, &resp.loc("outcome"), "outcome")?
            {
                resp.put("outcome", converted);
            }
            Ok(())
        })?;
        out.push(Value::Object(e.finish(ctx)));
        kept.push(i);
    }
    if !left_out.is_empty() {
        for (entry, i) in out.iter_mut().zip(kept) {
            left_out.prune(entry, &format!("{loc}[{i}]"), &mut ctx.warnings);
        }
    }
    r.put_array("entry", out);
    document_timestamp(ctx, r);
    Ok(())
}

/// R4 requires a document Bundle to have a `timestamp` (bdl-10), which STU3
/// lacks; the Composition's date is the closest thing the document carries.
fn document_timestamp(ctx: &mut Ctx, r: &mut Res<'_>) {
    if ctx.dir != Dir::ToR4 || r.out.get("type").and_then(Value::as_str) != Some("document") {
        return;
    }
    let date = r
        .out
        .get("entry")
        .and_then(|e| e.get(0))
        .and_then(|e| e.get("resource"))
        .filter(|c| c.get("resourceType").and_then(Value::as_str) == Some("Composition"))
        .and_then(|c| c.get("date"))
        .cloned();
    match date {
        Some(date) => {
            r.put("timestamp", date);
            ctx.warn(
                r.loc("timestamp"),
                "STU3 has no Bundle.timestamp; the Composition date was used",
            );
        }
        None => ctx.warn(
            r.loc("timestamp"),
            "required in FHIR R4 for a document but absent in the input",
        ),
    }
}

fn request(ctx: &mut Ctx, q: &mut Res<'_>) -> Result<(), Error> {
    q.same(&["url", "ifNoneMatch", "ifModifiedSince", "ifMatch", "ifNoneExist"]);
    if let Some(Value::String(url)) = q.out.get("url")
        && let Some(renamed) = renamed_request_url(ctx.dir, url)
    {
        q.put("url", Value::String(renamed));
    }
    if let Some(method) = q.take("method") {
        let loc = q.loc("method");
        let verb = want_str(method, &loc)?;
        if ctx.dir == Dir::ToStu3 && matches!(verb, "HEAD" | "PATCH") {
            ctx.warn(&loc, format!("HTTP verb {verb} is not allowed in STU3; kept as it is"));
        }
        q.put("method", method.clone());
        q.same(&["_method"]);
    }
    Ok(())
}
