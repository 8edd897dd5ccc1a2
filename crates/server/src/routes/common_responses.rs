//! Answers every operation can give whatever its handler does, added to the OpenAPI document
//! once all routes are registered, so no operation can forget them: 400 when a path, query or
//! body cannot be read (the extractors' `malformed-request`), 413 and 415 for an operation that
//! takes a JSON body (too large, or not JSON), and 500 (`internal`) for every operation. Every
//! state-changing operation takes the `Idempotency-Key` header (1 to 255 visible characters)
//! and can answer what the idempotency layer answers: 400 for a bad key, 401 for a presented
//! token that is not valid, 409 while the first request with the key still runs, 422 when the
//! key was used for another request.

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder};

fn problem(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    ResponseBuilder::new().description(description).content("application/problem+json", content).build().into()
}

/// Adds `status` unless the operation documents it already (its own description wins).
fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
}

/// The `Idempotency-Key` header as every state-changing operation takes it.
fn idempotency_key() -> Parameter {
    let schema = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255)).build();
    ParameterBuilder::new()
        .name(crate::idempotency::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some("Makes a retry return the first final answer instead of acting twice"))
        .schema(Some(schema))
        .build()
}

fn document_idempotency(op: &mut Operation) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    // Replace any hand-written copy, so every operation shows the same constraints.
    params.retain(|p| !p.name.eq_ignore_ascii_case(crate::idempotency::HEADER));
    params.push(idempotency_key());
    add(op, "401", "A token was presented but is not valid (unauthorized)");
    add(op, "409", "A request with this Idempotency-Key is still running (idempotency-in-progress)");
    add(op, "422", "This Idempotency-Key was used for a different request (idempotency-key-reused)");
}

fn document(op: &mut Operation, changes_state: bool) {
    if changes_state {
        document_idempotency(op);
    }
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
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.options, false),
            (&mut item.head, false),
            (&mut item.patch, true),
            (&mut item.trace, false),
        ];
        for (op, changes_state) in ops {
            if let Some(op) = op {
                document(op, changes_state);
            }
        }
    }
}
