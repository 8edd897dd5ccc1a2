//! The gate page's choices: an organiser's venues, their gates, and sessions in a window.

use crate::StoreResult;
use crate::staff_places::{GATES_SQL, SESSIONS_SQL, SessionWindow, StaffPlaces, VENUES_SQL, assemble};
use admit_domain::OrganiserId;
use sqlx::SqlitePool;

pub async fn staff_places(
    pool: &SqlitePool,
    organiser: OrganiserId,
    window: SessionWindow,
) -> StoreResult<StaffPlaces> {
    let venues = sqlx::query(VENUES_SQL).bind(organiser.0).fetch_all(pool).await?;
    let gates = sqlx::query(GATES_SQL).bind(organiser.0).fetch_all(pool).await?;
    let sessions = sqlx::query(SESSIONS_SQL)
        .bind(organiser.0)
        .bind(window.ended_after_ms)
        .bind(window.doors_before_ms)
        .fetch_all(pool)
        .await?;
    assemble(&venues, &gates, &sessions)
}
