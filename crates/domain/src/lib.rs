//! Admit's domain: the types and rules of ticketing with no IO.
//!
//! Everything here is pure and deterministic so it can be property-tested and shared by the
//! server (online), the gate terminal (offline) and the store backends. Time is passed in as
//! unix milliseconds; nothing here reads a clock.

pub mod amount;
pub mod checkin;
pub mod credential_policy;
pub mod event;
pub mod hold;
pub mod ids;
pub mod inventory;
pub mod money;
pub mod order;
pub mod seating;
pub mod waiting_room;

pub use amount::{Amount, AmountError, Asset};
pub use checkin::{
    DenyReason, DeviceCounter, Direction, EntryPolicy, EntryState, MAX_ENTRIES_LIMIT, ScanContext, SessionEntries,
    TicketAtGate, decide_entry,
};
pub use credential_policy::{CredentialPolicy, InvalidCredentialPolicy};
pub use event::{EventKind, SeatingMode};
pub use hold::{HoldItem, HoldState, MAX_TICKETS_PER_HOLD};
pub use ids::*;
pub use money::{Currency, Money, MoneyError};
pub use order::{OrderState, PaymentState, TicketStatus};
pub use seating::{SeatPos, best_available, largest_adjacent_run};
