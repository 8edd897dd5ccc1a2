//! Assertions on API answers: status, content type, RFC 9457 problem documents, holds and
//! sold-out alternatives.

use reqwest::{Response, StatusCode, header};
use serde_json::Value;

fn content_type(resp: &Response) -> String {
    resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// Asserts the status and a JSON content type; returns the body.
pub async fn json_body(resp: Response, status: StatusCode) -> Value {
    let (got, ct, url) = (resp.status(), content_type(&resp), resp.url().clone());
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "{url}: unexpected status; body: {text}");
    assert!(ct.starts_with("application/json"), "{url}: content type {ct:?}; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
}

/// Asserts an RFC 9457 problem of `/problems/{slug}` with `status`; returns the document.
pub async fn problem(resp: Response, status: StatusCode, slug: &str) -> Value {
    let (got, ct, url) = (resp.status(), content_type(&resp), resp.url().clone());
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "{url}: unexpected status; body: {text}");
    assert_eq!(ct, "application/problem+json", "{url}: body: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"));
    assert_eq!(body["type"], format!("/problems/{slug}"), "{url}: {body}");
    assert_eq!(body["status"], status.as_u16(), "{url}: {body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "{url}: no title: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{url}: no detail: {body}");
    body
}

/// Asserts a 201 hold with a matching `Location`; returns it.
pub async fn created_hold(resp: Response) -> Value {
    let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let hold = json_body(resp, StatusCode::CREATED).await;
    assert_eq!(location, Some(format!("/holds/{}", hold["id"].as_str().expect("hold id"))));
    assert_eq!(hold["state"], "active", "{hold}");
    hold
}

/// The `kind`s of a sold-out problem's alternatives.
pub fn alternative_kinds(problem: &Value) -> Vec<String> {
    let alternatives = problem["alternatives"].as_array().expect("alternatives array");
    alternatives.iter().map(|a| a["kind"].as_str().expect("kind").to_owned()).collect()
}

/// The alternative of `kind`, if offered.
pub fn alternative<'a>(problem: &'a Value, kind: &str) -> Option<&'a Value> {
    problem["alternatives"].as_array()?.iter().find(|a| a["kind"] == kind)
}

/// An order body without its `login_url`, which every confirmation mints afresh;
/// asserts the link was there and looked like one.
pub fn without_login_url(order: &Value) -> Value {
    let link = order["login_url"].as_str().unwrap_or_else(|| panic!("no login_url in {order}"));
    assert!(link.starts_with("/my/login/"), "{link}");
    let mut rest = order.clone();
    rest.as_object_mut().expect("an order object").remove("login_url");
    rest
}
