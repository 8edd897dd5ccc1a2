//! A buyer's browser in the on-sale waiting room: it keeps the queue cookie
//! (`admit_queue_<event>`) like a real one, whichever node it talks to.

use super::http::send;
use reqwest::header;
use serde_json::Value;

pub struct Browser {
    client: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    pub fn new(client: &reqwest::Client) -> Browser {
        Browser { client: client.clone(), cookie: None }
    }

    /// `POST {base}/events/{event}/queue`: 201 for a new place, 200 for the place this browser
    /// already has; the status and the standing.
    pub async fn join(&mut self, base: &str, event: i64) -> (u16, Value) {
        let mut request = self.client.post(format!("{base}/events/{event}/queue"));
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("POST {base}/events/{event}/queue: {e}"));
        if let Some(set) = response.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()) {
            self.cookie = Some(set.split(';').next().expect("a cookie pair").to_owned());
        }
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or_else(|e| panic!("joining the queue: body is not JSON: {e}"));
        assert!(status == 201 || status == 200, "POST {base}/events/{event}/queue -> {status} {body}");
        (status, body)
    }
}

/// `GET {base}/events/{event}/queue/{entry}`: where the entry stands, as that node sees it.
pub async fn standing(client: &reqwest::Client, base: &str, event: i64, entry: &Value) -> Value {
    let entry = entry["entry_id"].as_str().unwrap_or_else(|| panic!("a queue entry without an id: {entry}"));
    let url = format!("{base}/events/{event}/queue/{entry}");
    let (status, body) = send(client.get(&url)).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(status, 200, "GET {url}: {body}");
    body
}
