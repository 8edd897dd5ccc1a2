//! Cookies through the `cookie` crate: reading one from a request's `Cookie` headers (the
//! waiting-room place and the buyer session) and writing the `Set-Cookie` of a private cookie:
//! `HttpOnly`, `SameSite=Lax`, and `Secure` unless the server serves plain localhost
//! ([`Settings::secure_cookies`](crate::Settings::secure_cookies)).

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use std::time::Duration;

/// The value of the first cookie called `name`, if the browser sent one.
pub fn value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The `Set-Cookie` value of a cookie only the server reads: scoped to `path`, kept for
/// `max_age`, never sent cross-site on sub-requests, and only over HTTPS when `secure`.
pub fn private(name: &str, value: &str, path: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let max_age = cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
    let cookie = Cookie::build((name, value))
        .path(path)
        .max_age(max_age)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("a cookie of visible ASCII characters")
}
