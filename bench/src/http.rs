//! A lean HTTP/1.1 keep-alive client for the load generators: one connection per simulated
//! buyer or gate, driven through hyper's connection API. The load generator shares the two
//! cores with the server it measures, so every microsecond it spends is taken from the server:
//! reqwest's pool checkout, URL parsing, header map building and per-request timer cost about
//! as much as the server's own request handling (docs/PERFORMANCE.md, 2026-12-02).

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// One keep-alive connection to the server, opened on first use and again after a failure.
pub struct Conn {
    addr: String,
    host: HeaderValue,
    bearer: Option<HeaderValue>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// A complete answer: status and the whole body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Conn {
    /// A connection to `base` (`http://host:port`), sending `bearer` as a staff token if given.
    pub fn new(base: &str, bearer: Option<&str>) -> anyhow::Result<Conn> {
        let addr = base.strip_prefix("http://").context("the load generator speaks plain http://")?;
        let addr = addr.trim_end_matches('/').to_owned();
        Ok(Conn {
            host: HeaderValue::from_str(&addr)?,
            bearer: bearer.map(|t| HeaderValue::from_str(&format!("Bearer {t}"))).transpose()?,
            addr,
            sender: None,
        })
    }

    /// POSTs a JSON body to `path` and reads the whole answer. A failed request drops the
    /// connection (the next one reconnects); it is not retried, since a POST may have taken
    /// effect.
    pub async fn post_json(&mut self, path: &str, json: impl Into<Bytes>) -> anyhow::Result<Answer> {
        self.request(Method::POST, path, Some(json.into())).await
    }

    /// GETs `path` and reads the whole answer (failures as for `post_json`).
    pub async fn get(&mut self, path: &str) -> anyhow::Result<Answer> {
        self.request(Method::GET, path, None).await
    }

    async fn request(&mut self, method: Method, path: &str, json: Option<Bytes>) -> anyhow::Result<Answer> {
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, self.send(method.clone(), path, json)).await;
        match answer {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                anyhow::bail!("no answer to {method} {path} within {REQUEST_TIMEOUT:?}")
            }
        }
    }

    async fn send(&mut self, method: Method, path: &str, json: Option<Bytes>) -> anyhow::Result<Answer> {
        let sender = match &mut self.sender {
            Some(s) if !s.is_closed() => s,
            _ => self.sender.insert(connect(&self.addr).await?),
        };
        let has_body = json.is_some();
        let mut req = Request::builder().method(method).uri(path).body(Full::new(json.unwrap_or_default()))?;
        let headers = req.headers_mut();
        headers.insert(HOST, self.host.clone());
        if has_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(b) = &self.bearer {
            headers.insert(AUTHORIZATION, b.clone());
        }
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok(Answer { status, body })
    }
}

async fn connect(addr: &str) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the server closes the connection or the sender is dropped.
        let _ = conn.await;
    });
    Ok(sender)
}
