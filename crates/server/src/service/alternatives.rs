//! "Sold out" is never a dead end: list concrete alternatives that are available right now —
//! the same grade in other sessions, other grades in this session, fewer adjacent seats, or
//! fewer seats.

use crate::dto::{Alternative, time};
use crate::state::AppState;
use admit_domain::{GradeId, SeatPos, SeatingMode, SessionId, largest_adjacent_run};
use admit_store::{SeatState, StoreError};

/// What the buyer asked for, to find alternatives to.
pub struct Wanted {
    pub session: SessionId,
    pub grade: GradeId,
    pub quantity: u32,
}

pub async fn find(state: &AppState, wanted: &Wanted) -> Result<Vec<Alternative>, StoreError> {
    let store = &state.store;
    let session = store.session(wanted.session).await?;
    let detail = store.event(session.event_id).await?;
    let mut out = Vec::new();

    for other in detail.sessions.iter().filter(|s| s.id != session.id) {
        let remaining = store
            .availability(other.id)
            .await?
            .iter()
            .find(|a| a.grade_id == wanted.grade)
            .map(|a| a.remaining())
            .unwrap_or(0);
        if remaining >= wanted.quantity {
            out.push(Alternative::OtherSession {
                session_id: other.id.0,
                label: other.label.clone(),
                starts_at: time(other.starts_at_ms),
                grade_id: wanted.grade.0,
                remaining,
            });
        }
    }

    let here = store.availability(session.id).await?;
    for grade in detail.grades.iter().filter(|g| g.id != wanted.grade) {
        let remaining = here.iter().find(|a| a.grade_id == grade.id).map(|a| a.remaining()).unwrap_or(0);
        if remaining >= wanted.quantity {
            out.push(Alternative::OtherGrade {
                grade_id: grade.id.0,
                grade_code: grade.code.clone(),
                price: grade.price.into(),
                remaining,
            });
        }
    }

    let remaining = here.iter().find(|a| a.grade_id == wanted.grade).map(|a| a.remaining()).unwrap_or(0);
    let reserved = detail.grades.iter().any(|g| g.id == wanted.grade && g.seating == SeatingMode::Reserved);
    if reserved && wanted.quantity > 1 {
        let seats: Vec<SeatPos> = store
            .seats(session.id)
            .await?
            .into_iter()
            .filter(|s| s.grade_id == wanted.grade)
            .map(|s| SeatPos {
                id: s.id,
                row_rank: s.row_rank,
                row: s.row,
                number: s.number,
                free: s.state == SeatState::Free,
            })
            .collect();
        let run = largest_adjacent_run(&seats) as u32;
        if run > 1 && run < wanted.quantity {
            out.push(Alternative::FewerAdjacent { grade_id: wanted.grade.0, quantity: run });
        }
    }
    if remaining > 0 && remaining < wanted.quantity {
        out.push(Alternative::FewerSeats { grade_id: wanted.grade.0, quantity: remaining });
    }
    Ok(out)
}
