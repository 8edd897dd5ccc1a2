//! The published contract: `/openapi.json` (OpenAPI 3.1) documents every route the API serves,
//! with the problem schema and the staff-token scheme, `/problems` lists every problem type, and
//! each type resolves to a page describing it.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;
use support::{TestApp, json_body, problem};

/// Every route these tests exercise, with its methods.
const ROUTES: &[(&str, &[&str])] = &[
    ("/events", &["get"]),
    ("/events/{event_id}", &["get"]),
    ("/sessions/{session_id}", &["get"]),
    ("/sessions/{session_id}/seats", &["get"]),
    ("/holds", &["post"]),
    ("/holds/{hold_id}", &["get", "delete"]),
    ("/holds/{hold_id}/payments", &["post"]),
    ("/orders/{order_id}", &["get"]),
    ("/orders/{order_id}/login-link", &["post"]),
    ("/orders/{order_id}/tickets/{ticket_id}/credential", &["get"]),
    ("/orders/{order_id}/tickets/{ticket_id}/qr.svg", &["get"]),
    ("/orders/{order_id}/tickets/{ticket_id}/qr.png", &["get"]),
    ("/gate/scans", &["post"]),
    ("/sessions/{session_id}/manifest", &["get"]),
    ("/gate/places", &["get"]),
    ("/events/{event_id}/credential-policy", &["put"]),
];

/// Every problem type these tests expect somewhere.
const PROBLEM_TYPES: &[&str] = &[
    "malformed-request",
    "unsupported-media-type",
    "validation",
    "unauthorized",
    "forbidden",
    "not-found",
    "method-not-allowed",
    "sold-out",
    "hold-expired",
    "hold-released",
    "payment-declined",
    "payment-timeout",
    "idempotency-key-reused",
];

async fn openapi(app: &TestApp) -> Value {
    json_body(app.get("/openapi.json").await, StatusCode::OK).await
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_the_problem_schema() {
    let app = TestApp::spawn().await;

    let doc = openapi(&app).await;

    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(doc["info"]["title"], "Admit API");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in ROUTES {
        for method in *methods {
            assert!(paths.get(*path).and_then(|p| p.get(*method)).is_some(), "{method} {path} is not documented");
        }
    }
    let problem_schema = &doc["components"]["schemas"]["Problem"];
    // The extension members are flattened in, so the fields may sit in an `allOf` part.
    let parts = std::iter::once(problem_schema).chain(problem_schema["allOf"].as_array().into_iter().flatten());
    let (properties, required): (Vec<&Value>, Vec<&Value>) = parts.map(|p| (&p["properties"], &p["required"])).unzip();
    for field in ["type", "title", "status", "detail"] {
        assert!(properties.iter().any(|p| p[field].is_object()), "Problem.{field}: {problem_schema}");
        assert!(required.iter().any(|r| r.as_array().is_some_and(|r| r.contains(&field.into()))), "{field} required");
    }
    assert_eq!(doc["components"]["securitySchemes"]["staff_token"]["scheme"], "bearer");
    for (path, method) in [("/gate/scans", "post"), ("/sessions/{session_id}/manifest", "get")] {
        let security = &paths[path][method]["security"];
        assert!(security.to_string().contains("staff_token"), "{method} {path} names the staff token: {security}");
    }
    let sold_out = &paths["/holds"]["post"]["responses"]["409"]["content"]["application/problem+json"];
    assert!(sold_out.to_string().contains("#/components/schemas/Problem"), "{sold_out}");
}

#[tokio::test]
async fn every_documented_path_is_served() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;

    for path in doc["paths"].as_object().expect("paths").keys() {
        // No route answers PATCH: a served path says 405, an unserved one 404.
        let concrete: String =
            path.split('/').map(|part| if part.starts_with('{') { "1" } else { part }).collect::<Vec<_>>().join("/");
        let resp = app.client.patch(app.url(&concrete)).send().await.unwrap();
        problem(resp, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
    }
}

#[tokio::test]
async fn the_problem_catalogue_lists_every_type_the_api_answers_with() {
    let app = TestApp::spawn().await;

    let catalogue = json_body(app.get("/problems").await, StatusCode::OK).await;

    let entries = catalogue.as_array().expect("problem list");
    let types: BTreeSet<&str> = entries.iter().map(|p| p["type"].as_str().expect("type")).collect();
    assert_eq!(types.len(), entries.len(), "types are unique");
    for slug in PROBLEM_TYPES {
        assert!(types.contains(format!("/problems/{slug}").as_str()), "{slug} is not listed: {types:?}");
    }
    assert!(entries.iter().all(|p| p["meaning"].as_str().is_some_and(|m| !m.is_empty())), "{catalogue}");
}

#[tokio::test]
async fn every_operation_documents_the_answers_any_request_can_get() {
    let app = TestApp::spawn().await;

    let doc = openapi(&app).await;

    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("500"), "{method} {path}: 500");
            let takes_input =
                op["parameters"].as_array().is_some_and(|p| !p.is_empty()) || op["requestBody"].is_object();
            assert_eq!(responses.contains_key("400"), takes_input, "{method} {path}: 400 exactly when it reads input");
            if op["requestBody"].is_object() {
                assert!(responses.contains_key("413") && responses.contains_key("415"), "{method} {path}: 413, 415");
            }
            let internal = &responses["500"]["content"]["application/problem+json"]["schema"]["$ref"];
            assert_eq!(internal, "#/components/schemas/Problem", "{method} {path}");
            if ["post", "put", "delete", "patch"].contains(&method.as_str()) {
                let keys: Vec<&Value> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["name"] == "idempotency-key" && p["in"] == "header")
                    .collect();
                assert_eq!(keys.len(), 1, "{method} {path}: one Idempotency-Key header");
                assert_eq!(keys[0]["schema"]["maxLength"], 255, "{method} {path}");
                for status in ["401", "409", "422"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status} from the idempotency layer");
                }
            }
        }
    }
}

#[tokio::test]
async fn every_problem_type_resolves_to_a_page_describing_it() {
    let app = TestApp::spawn().await;
    let catalogue = json_body(app.get("/problems").await, StatusCode::OK).await;

    for entry in catalogue.as_array().expect("problem list") {
        let resp = app.get(entry["type"].as_str().expect("type")).await;
        let kind = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert_eq!(resp.status(), StatusCode::OK, "{entry}");
        assert!(kind.starts_with("text/html"), "{entry}: {kind}");
        let page = resp.text().await.unwrap();
        let meaning = entry["meaning"].as_str().unwrap();
        let plain_start = meaning.split(|c: char| !(c.is_alphanumeric() || c == ' ')).next().unwrap();
        assert!(plain_start.len() > 5 && page.contains(plain_start), "{entry}: {page}");
    }
    problem(app.get("/problems/no-such-problem").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn the_manifest_documents_both_of_its_formats() {
    let app = TestApp::spawn().await;

    let doc = openapi(&app).await;

    let ok = &doc["paths"]["/sessions/{session_id}/manifest"]["get"]["responses"]["200"]["content"];
    let kinds: BTreeSet<&str> = ok.as_object().expect("200 content").keys().map(String::as_str).collect();
    assert_eq!(kinds, BTreeSet::from(["application/json", "text/csv"]), "{ok}");
    let rows = format!("{}/manifest?format=csv", app.url(&format!("/sessions/{}", app.concert.sessions[0].0)));
    let csv = app.client.get(rows).bearer_auth(&app.organiser.gate_token).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
}
