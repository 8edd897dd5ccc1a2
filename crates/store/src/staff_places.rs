//! What gate staff choose from when they open the browser gate page: their organiser's venues
//! with the gates of each, and the sessions at those venues that are still to come. Both
//! backends select the same columns and build the answer here.

use crate::StoreResult;
use crate::decode;
use crate::model::{Session, Venue};
use crate::rows::{Columns, i64_at, str_at};
use admit_domain::{OrganiserId, VenueId};

/// An organiser's venues (each with its gates, by id) and the sessions in a time window.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffPlaces {
    /// By name, then id.
    pub venues: Vec<Venue>,
    /// Soonest first.
    pub sessions: Vec<SessionAtVenue>,
}

/// A session with what a person picking it needs to recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAtVenue {
    pub session: Session,
    pub event_name: String,
    /// Where the session takes place: only this venue's gates may admit for it.
    pub venue_id: VenueId,
}

/// Which sessions [`crate::Store::staff_places`] lists: those not ended by `ended_after_ms`
/// whose doors open before `doors_before_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionWindow {
    pub ended_after_ms: i64,
    pub doors_before_ms: i64,
}

/// The organiser's venues (`$1`: organiser id). Both backends run these same statements.
pub(crate) const VENUES_SQL: &str =
    "SELECT id, organiser_id, name, city, latitude, longitude FROM venues WHERE organiser_id = $1 ORDER BY name, id";

/// The organiser's gates (`$1`: organiser id), as `decode::gate` reads them.
pub(crate) const GATES_SQL: &str = "SELECT g.id, g.venue_id, v.organiser_id, g.name, g.latitude, g.longitude
     FROM gates g JOIN venues v ON v.id = g.venue_id WHERE v.organiser_id = $1 ORDER BY g.id";

/// The organiser's sessions in a window (`$1`: organiser id, `$2`/`$3`: [`SessionWindow`]).
pub(crate) const SESSIONS_SQL: &str =
    "SELECT s.id, s.event_id, s.label, s.starts_at, s.ends_at, s.doors_at, e.name AS event_name, e.venue_id
     FROM sessions s JOIN events e ON e.id = s.event_id
     WHERE e.organiser_id = $1 AND s.ends_at > $2 AND s.doors_at < $3
     ORDER BY s.starts_at, s.id";

/// `id, organiser_id, name, city, latitude, longitude` of a venue, without its gates.
pub(crate) fn venue(r: &impl Columns) -> StoreResult<Venue> {
    Ok(Venue {
        id: VenueId(i64_at(r, "id")?),
        organiser_id: OrganiserId(i64_at(r, "organiser_id")?),
        name: str_at(r, "name")?,
        city: str_at(r, "city")?,
        latitude: r.f64_col("latitude")?,
        longitude: r.f64_col("longitude")?,
        gates: Vec::new(),
    })
}

/// Puts each gate (the columns of `decode::gate`) under its venue, and decodes the sessions
/// (the session columns plus `event_name` and `venue_id`).
pub(crate) fn assemble(
    venues: &[impl Columns],
    gates: &[impl Columns],
    sessions: &[impl Columns],
) -> StoreResult<StaffPlaces> {
    let mut venues = venues.iter().map(venue).collect::<StoreResult<Vec<_>>>()?;
    for row in gates {
        let gate = decode::gate(row)?;
        if let Some(v) = venues.iter_mut().find(|v| v.id == gate.venue_id) {
            v.gates.push(gate);
        }
    }
    let sessions = sessions
        .iter()
        .map(|r| {
            Ok(SessionAtVenue {
                session: decode::session(r)?,
                event_name: str_at(r, "event_name")?,
                venue_id: VenueId(i64_at(r, "venue_id")?),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(StaffPlaces { venues, sessions })
}
