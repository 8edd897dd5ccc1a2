//! Holds: seats or units set aside for one buyer for a limited time, then paid, cancelled or expired.

use crate::{GradeId, SeatId};
use serde::{Deserialize, Serialize};

/// The most tickets one hold (and so one order) may contain.
pub const MAX_TICKETS_PER_HOLD: u32 = 10;

/// Life cycle of a hold. Only `Active` holds block inventory and only they can be paid.
///
/// ```text
/// Active --pay approved--> Converted
/// Active --cancel--------> Released
/// Active --expiry--------> Expired
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    Active,
    Converted,
    Released,
    Expired,
}

impl HoldState {
    pub fn as_str(&self) -> &'static str {
        match self {
            HoldState::Active => "active",
            HoldState::Converted => "converted",
            HoldState::Released => "released",
            HoldState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<HoldState> {
        [HoldState::Active, HoldState::Converted, HoldState::Released, HoldState::Expired]
            .into_iter()
            .find(|h| h.as_str() == s)
    }

    /// An active hold past its expiry time counts as expired even before a sweeper marks it.
    pub fn effective(self, expires_at_ms: i64, now_ms: i64) -> HoldState {
        if self == HoldState::Active && now_ms >= expires_at_ms { HoldState::Expired } else { self }
    }
}

/// One line of a hold: a specific seat, or a number of general-admission units of a grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HoldItem {
    Seat { seat: SeatId, grade: GradeId },
    Units { grade: GradeId, quantity: u32 },
}

impl HoldItem {
    pub fn grade(&self) -> GradeId {
        match self {
            HoldItem::Seat { grade, .. } | HoldItem::Units { grade, .. } => *grade,
        }
    }

    /// How many tickets this line becomes when paid.
    pub fn ticket_count(&self) -> u32 {
        match self {
            HoldItem::Seat { .. } => 1,
            HoldItem::Units { quantity, .. } => *quantity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_active_hold_past_its_expiry_is_expired() {
        assert_eq!(HoldState::Active.effective(1000, 999), HoldState::Active);
        assert_eq!(HoldState::Active.effective(1000, 1000), HoldState::Expired);
        assert_eq!(HoldState::Converted.effective(1000, 5000), HoldState::Converted);
    }

    #[test]
    fn states_round_trip_through_names() {
        for s in [HoldState::Active, HoldState::Converted, HoldState::Released, HoldState::Expired] {
            assert_eq!(HoldState::parse(s.as_str()), Some(s));
        }
    }
}
