//! Reading a cookie from a request's `Cookie` headers (the queue place and the buyer session).

use axum::http::{HeaderMap, header};

/// The value of the first cookie called `name`, if the browser sent one.
pub fn value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
