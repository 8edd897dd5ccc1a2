//! Identifier newtypes, so an event id can never be passed where a session id is expected.

use serde::{Deserialize, Serialize};

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int_id!(
    /// An organiser (tenant): owns venues, events, keys and staff tokens.
    OrganiserId,
    i64
);
int_id!(
    /// A venue or a transport operator's depot/station.
    VenueId,
    i64
);
int_id!(
    /// A gate (entrance, platform barrier, boarding door) of a venue.
    GateId,
    i64
);
int_id!(
    /// An event: a show, match, screening or a transport route.
    EventId,
    i64
);
int_id!(
    /// A dated occurrence of an event (a performance, a "round", a departure).
    SessionId,
    i64
);
int_id!(
    /// A price grade (VIP/R/S, a standing tier, a travel class) of an event.
    GradeId,
    i64
);
int_id!(
    /// One physical seat of one session.
    SeatId,
    i64
);
int_id!(
    /// A ticket. Random 63-bit value: it travels in the credential, so it must not be guessable.
    TicketId,
    i64
);
