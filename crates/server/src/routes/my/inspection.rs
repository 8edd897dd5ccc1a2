//! "Check" on the phone (flow A): reveals the inspection ID and password live, records the
//! inspection and uses an entry under exactly the rules of a gate check-in.

use super::dto::{InspectionDto, status_of};
use super::ticket_id;
use super::tickets::no_store;
use crate::buyer::BuyerSession;
use crate::dto::time;
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::state::{AppState, now_ms};
use admit_credential::Credential;
use admit_domain::DenyReason;
use admit_store::{InspectTicket, TicketView};
use axum::Json;
use axum::extract::State;
use axum::response::Response;

#[utoipa::path(post, path = "/my/api/tickets/{ticket_id}/inspection", tag = "phone",
    security(("buyer_session" = [])),
    params(
        ("ticket_id" = String, Path, description = "Ticket id (decimal)"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry after a network error shows the same inspection and uses no second entry"),
    ),
    responses(
        (status = 200, description = "admit (an entry was used now; ID and password shown) or deny with a reason (already_used also shows them)", body = InspectionDto),
        (status = 401, description = "No buyer session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in this session's orders", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn inspect(
    State(state): State<AppState>,
    session: BuyerSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let view = state.store.buyer_ticket(session.hash, ticket_id(&id)?).await?;
    let payload = Credential::from_text(&view.ticket.credential)
        .and_then(|c| c.payload_unverified())
        .map_err(|r| ApiError::Internal(format!("ticket {} holds an unreadable credential: {r}", view.ticket.id)))?;
    let now = now_ms();
    let inspected = state
        .store
        .inspect_ticket(InspectTicket {
            ticket_id: view.ticket.id,
            session_hash: session.hash,
            valid_from_ms: payload.valid_from.saturating_mul(1000),
            valid_until_ms: payload.valid_until.saturating_mul(1000),
            now_ms: now,
        })
        .await?;
    let after = TicketView { ticket: inspected.ticket, ..view };
    let reveal = matches!(inspected.verdict, Ok(_) | Err(DenyReason::AlreadyUsed));
    tracing::info!(ticket.id = %after.ticket.id, verdict = ?inspected.verdict.as_ref().err(), "inspection on the phone");
    Ok(no_store(Json(InspectionDto {
        verdict: if inspected.verdict.is_ok() { "admit" } else { "deny" }.into(),
        reason: inspected.verdict.as_ref().err().map(|r| r.code().to_owned()),
        message: match &inspected.verdict {
            Ok(_) => "Show this to the staff: they compare the ID and password with their list.".into(),
            Err(r) => format!("Not admitted: {r}."),
        },
        inspection_id: reveal.then(|| after.ticket.reference.clone()),
        inspection_password: reveal.then(|| after.ticket.inspection_code.clone()),
        entries_used: after.ticket.entries_used,
        max_entries: after.ticket.max_entries,
        status: status_of(&after).to_owned(),
        inspected_at: time(now),
    })))
}
