//! `GET /problems/{type}`: a small page describing one problem type, so the `type` URI of every
//! problem+json answer (RFC 9457) resolves to documentation for a person. Built from the same
//! catalogue as the JSON list at `/problems` (`error::PROBLEM_TYPES`).

use super::html;
use crate::error::{ApiError, PROBLEM_TYPES};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn page(Path(slug): Path<String>) -> Response {
    let Some((slug, meaning)) = PROBLEM_TYPES.iter().find(|(known, _)| *known == slug) else {
        return ApiError::not_found("problem type").into_response();
    };
    let body = format!(
        "<section class=\"card message\"><h1>Problem: <code>{slug}</code></h1><p>{meaning}</p>\
         <p>An answer of this type is <code>application/problem+json</code> with \
         <code>\"type\": \"/problems/{slug}\"</code>; its <code>detail</code> says what happened this \
         time. <a href=\"/problems\">Every problem type</a> (JSON).</p></section>",
        slug = html::escape(slug),
        meaning = html::escape(meaning),
    );
    html::page(StatusCode::OK, &format!("Problem: {slug}"), &body)
}
