//! Issuing tickets for a paid hold: ids, signed credentials and inspection passwords are all
//! made before the store's write transaction, so no signing happens under its lock.
//!
//! A failure says whether trying again can help: a ticket the credential cannot carry will never
//! be signed (the charge must be refunded), while a store that did not answer may next time.

use crate::state::AppState;
use admit_credential::{HolderBinding, Payload, inspection_password, ticket_reference};
use admit_domain::TicketId;
use admit_store::{Hold, NewTicket, StoreError};
use rand::Rng;

/// Tickets stay valid for this long after the session ends (late exits, delayed departures).
const GRACE_AFTER_END_MS: i64 = 6 * 3600 * 1000;

/// Why a paid hold's tickets could not be made.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The ticket can never be signed as it stands (e.g. a seat label or grade code longer
    /// than the credential carries): retrying cannot help, the charge must go back.
    #[error("cannot sign the ticket: {0}")]
    Unsignable(String),
    /// Reading the session, event or keys failed; a later attempt may succeed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn build_tickets(state: &AppState, hold: &Hold) -> Result<Vec<NewTicket>, IssueError> {
    let session = state.places.session_detail(state.store.as_ref(), hold.session_id).await?;
    // A multi-day pass is valid from the first session's doors to the last one's end.
    let event_window = match hold.lines.iter().any(|l| l.policy.multi_day) {
        true => {
            let sessions = state.store.event(hold.event_id).await?.sessions;
            let from = sessions.iter().map(|s| s.doors_at_ms).min().unwrap_or(session.doors_at_ms);
            let until = sessions.iter().map(|s| s.ends_at_ms).max().unwrap_or(session.ends_at_ms);
            (from, until)
        }
        false => (session.doors_at_ms, session.ends_at_ms),
    };
    let signer = state.signer(hold.event_id).await?;
    let mut rng = rand::thread_rng();
    let mut tickets = Vec::new();
    for line in &hold.lines {
        let (from_ms, until_ms) =
            if line.policy.multi_day { event_window } else { (session.doors_at_ms, session.ends_at_ms) };
        for _ in 0..line.quantity {
            let id: i64 = rng.gen_range(1..i64::MAX);
            let payload = Payload {
                key_id: signer.issuer.key_id(),
                ticket_id: id as u64,
                ticket_version: 1,
                session_id: session.id.0 as u64,
                seat: line.seat.as_ref().map(|(_, label)| label.clone()).unwrap_or_default(),
                grade: line.grade_code.clone(),
                valid_from: from_ms.div_euclid(1000),
                valid_until: (until_ms + GRACE_AFTER_END_MS).div_euclid(1000),
                holder: HolderBinding::None,
                reserved: Vec::new(),
            };
            let credential = signer.issuer.issue(payload).map_err(|e| IssueError::Unsignable(e.to_string()))?;
            tickets.push(NewTicket {
                id: TicketId(id),
                reference: ticket_reference(id as u64),
                grade_id: line.grade_id,
                seat_id: line.seat.as_ref().map(|(seat, _)| *seat),
                price_minor: line.unit_price.minor(),
                version: 1,
                max_entries: line.policy.max_entries,
                credential: credential.to_text(),
                inspection_code: inspection_password(&signer.inspection_key, id as u64, 1),
            });
        }
    }
    Ok(tickets)
}
