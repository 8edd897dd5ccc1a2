//! `admit demo` prints a one-time login link for a ticket of its phone demo event: opening it
//! logs the browser in and shows that ticket; opening it again does not.

#[allow(dead_code, reason = "each test binary uses its own part of the shared support")]
mod support;

use reqwest::{StatusCode, header, redirect};
use serde_json::Value;
use support::deployment::Deployment;

#[tokio::test]
async fn the_demo_prints_a_login_link_that_opens_its_phone_ticket_once() {
    let deployment = Deployment::sqlite();
    let node = deployment.demo(&[("ADMIT_DEMO_PHONE_TICKET", "true")]);
    let log = node.wait_for_output("Phone page");
    let link = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Phone page"))
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_else(|| panic!("no phone link in the welcome:\n{log}"));
    assert!(link.starts_with(&format!("{}/my/login/", node.base)), "{link}");
    let http = reqwest::Client::builder().redirect(redirect::Policy::none()).build().expect("client");

    let opened = http.get(&link).send().await.expect("open the link");
    let again = http.get(&link).send().await.expect("open it again");

    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let cookie = opened.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let tickets: Value = http
        .get(format!("{}/my/api/tickets", node.base))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("list the tickets")
        .json()
        .await
        .expect("JSON");
    let tickets = tickets.as_array().expect("a list");
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert!(tickets[0]["event"]["name"].as_str().is_some_and(|n| n.contains("phone ticket demo")), "{tickets:?}");
    assert_eq!(again.status(), StatusCode::GONE);
}
