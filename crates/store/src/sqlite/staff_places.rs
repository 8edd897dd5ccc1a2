//! The gate page's choices: an organiser's venues, their gates, and sessions in a window.

use super::sql::rows;
use crate::StoreResult;
use crate::staff_places::{GATES_SQL, SESSIONS_SQL, SessionWindow, StaffPlaces, VENUES_SQL, assemble};
use admit_domain::OrganiserId;
use rusqlite::{Connection, params};

pub fn staff_places(c: &Connection, organiser: OrganiserId, window: SessionWindow) -> StoreResult<StaffPlaces> {
    let venues = rows(c, VENUES_SQL, [organiser.0])?;
    let gates = rows(c, GATES_SQL, [organiser.0])?;
    let sessions = rows(c, SESSIONS_SQL, params![organiser.0, window.ended_after_ms, window.doors_before_ms])?;
    assemble(&venues, &gates, &sessions)
}
