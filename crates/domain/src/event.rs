//! What is sold: the kinds of event (venues and transport) and how their inventory is shaped.

use serde::{Deserialize, Serialize};

/// The kind of event. Transport departures use the same model: a route is an event, a
/// departure is a session, coach/car/cabin + row + seat is the seat label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Concert,
    Match,
    Play,
    Screening,
    Train,
    ExpressBus,
    Flight,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::Concert,
        EventKind::Match,
        EventKind::Play,
        EventKind::Screening,
        EventKind::Train,
        EventKind::ExpressBus,
        EventKind::Flight,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Concert => "concert",
            EventKind::Match => "match",
            EventKind::Play => "play",
            EventKind::Screening => "screening",
            EventKind::Train => "train",
            EventKind::ExpressBus => "express_bus",
            EventKind::Flight => "flight",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Transport departures have a vehicle seat layout and an origin/destination.
    pub fn is_transport(&self) -> bool {
        matches!(self, EventKind::Train | EventKind::ExpressBus | EventKind::Flight)
    }
}

/// Whether a grade is sold as numbered seats or as general-admission units from a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatingMode {
    Reserved,
    GeneralAdmission,
}

impl SeatingMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            SeatingMode::Reserved => "reserved",
            SeatingMode::GeneralAdmission => "general_admission",
        }
    }

    pub fn parse(s: &str) -> Option<SeatingMode> {
        match s {
            "reserved" => Some(SeatingMode::Reserved),
            "general_admission" => Some(SeatingMode::GeneralAdmission),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("rocket"), None);
    }

    #[test]
    fn trains_buses_and_flights_are_transport() {
        assert!(EventKind::Train.is_transport());
        assert!(EventKind::Flight.is_transport());
        assert!(!EventKind::Concert.is_transport());
    }
}
