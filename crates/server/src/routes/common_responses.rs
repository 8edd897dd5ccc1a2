//! Answers every operation can give whatever its handler does, added to the OpenAPI document
//! once all routes are registered, so no operation can forget them: 400 when a path, query or
//! body cannot be read (the extractors' `malformed-request`), 413 and 415 for an operation that
//! takes a JSON body (too large, or not JSON), and 500 (`internal`) for every operation.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

fn problem(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    ResponseBuilder::new().description(description).content("application/problem+json", content).build().into()
}

/// Adds `status` unless the operation documents it already (its own description wins).
fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
}

fn document(op: &mut Operation) {
    let takes_input = op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || op.request_body.is_some();
    if takes_input {
        add(op, "400", "A path, query or body value could not be read (malformed-request)");
    }
    if op.request_body.is_some() {
        add(op, "413", "The body is over 64 KiB (payload-too-large)");
        add(op, "415", "The body is not JSON with `Content-Type: application/json` (unsupported-media-type)");
    }
    add(op, "500", "Something failed on the server; nothing was changed (internal)");
}

/// Documents the common answers on every operation of `doc`.
pub fn add_to(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            document(op);
        }
    }
}
