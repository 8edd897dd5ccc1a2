//! Server-rendered HTML for the few pages that are not JS shells: readable messages (a used
//! login link, no session, a refused print) and the printable ticket. Everything interpolated
//! is escaped; pages carry a strict Content-Security-Policy (no inline script or style).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Scripts, styles and images only from this origin (and `data:` images); nothing inline.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                       object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Headers every HTML answer carries.
pub fn html_response(status: StatusCode, cache: &'static str, body: impl Into<axum::body::Body>) -> Response {
    let mut response = (status, body.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A whole page around `body` (already HTML), titled `title` (plain text).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"theme-color\" content=\"#0b1f33\">\
         <link rel=\"manifest\" href=\"/my/manifest.webmanifest\">\
         <link rel=\"stylesheet\" href=\"/my/assets/phone.css\"><title>{title} · Admit</title></head>\
         <body><main class=\"page\">{body}</main></body></html>\n",
        title = escape(title),
    );
    html_response(status, "no-store", html)
}

/// A readable message page: a heading, a paragraph and an optional link (href, text).
pub fn message(status: StatusCode, title: &str, text: &str, link: Option<(&str, &str)>) -> Response {
    let link = link
        .map(|(href, label)| format!("<p><a class=\"button\" href=\"{}\">{}</a></p>", escape(href), escape(label)))
        .unwrap_or_default();
    let body =
        format!("<section class=\"card message\"><h1>{}</h1><p>{}</p>{link}</section>", escape(title), escape(text));
    page(status, title, &body)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            escape(r#"<b a="1">Tom & 'Jerry'</b>"#),
            "&lt;b a=&quot;1&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        assert_eq!(escape("Olympic Hall · 서울"), "Olympic Hall · 서울");
    }
}
