//! A buyer's phone browser as the API sees it: its own cookie (the buyer session set by a
//! login link), no automatic redirects (so tests see the 303 and its `Set-Cookie`), and a
//! device key played in Rust with exactly the bytes a browser sends.

use admit_credential::{Credential, DeviceAlgorithm, DeviceSigner, device_proof_message};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, header, redirect};
use serde_json::{Value, json};
use std::time::Duration;

pub struct Phone {
    pub base_url: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
    pub device: DeviceSigner,
}

impl Phone {
    pub fn new(base_url: &str) -> Phone {
        Phone::with_key(base_url, DeviceSigner::generate(DeviceAlgorithm::Ed25519))
    }

    pub fn with_key(base_url: &str, device: DeviceSigner) -> Phone {
        let http = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Phone { base_url: base_url.to_owned(), http, cookie: None, device }
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(cookie) => request.header(header::COOKIE, cookie),
            None => request,
        }
    }

    /// Opens a login link (a path such as `/my/login/…`), keeping any session cookie it sets.
    pub async fn open(&mut self, path: &str) -> Response {
        let response = self.get(path).await;
        if let Some(set) = response.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()) {
            self.cookie = Some(set.split(';').next().expect("a cookie pair").to_owned());
        }
        response
    }

    pub async fn get(&self, path: &str) -> Response {
        self.with_cookie(self.http.get(format!("{}{path}", self.base_url))).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Response {
        let mut request = self.with_cookie(self.http.post(format!("{}{path}", self.base_url)));
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("POST")
    }

    /// The registration this phone sends for `ticket` (its JSON), signed at `counter`.
    pub fn registration(&self, ticket: &Value, counter: u32, rebind: bool) -> Value {
        let id: u64 = ticket["id"].as_str().expect("ticket id").parse().expect("decimal id");
        let version = ticket["version"].as_u64().expect("version") as u32;
        let proof = self.device.sign(&device_proof_message(id, version, counter));
        json!({
            "algorithm": self.device.algorithm().name(),
            "public_key": URL_SAFE_NO_PAD.encode(self.device.public_raw()),
            "version": version,
            "counter": counter,
            "proof": URL_SAFE_NO_PAD.encode(proof),
            "rebind": rebind,
        })
    }

    pub async fn bind(&self, ticket: &Value, rebind: bool) -> Response {
        let body = self.registration(ticket, now_s(), rebind);
        self.post(&format!("/my/api/tickets/{}/device", ticket["id"].as_str().expect("id")), Some(&body)).await
    }

    /// What this phone's QR shows for `ticket` (its JSON) right now.
    pub fn presentation(&self, ticket: &Value) -> String {
        let credential = Credential::from_text(ticket["credential"].as_str().expect("credential")).expect("credential");
        self.device.present(credential, now_s()).to_text()
    }
}

pub fn now_s() -> u32 {
    (super::fixtures::now_ms() / 1000) as u32
}
