//! Orders and tickets: the states a paid purchase and its tickets move through.

use serde::{Deserialize, Serialize};

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

named_enum!(
    /// An order exists only once payment was approved: it is `Paid` (tickets issued) or
    /// `Refunded` (the money went back, e.g. the hold had expired when approval arrived).
    OrderState { Paid => "paid", Refunded => "refunded" }
);

named_enum!(
    /// A ticket is `Valid` until it is cancelled (refund) or re-issued (its old versions are
    /// revoked by bumping `version`, which the check-in rules compare).
    TicketStatus { Valid => "valid", Canceled => "canceled" }
);

named_enum!(
    /// One attempt to charge for a hold. `Pending` is written before the gateway is called, so
    /// a crash mid-call is found and settled on restart.
    PaymentState {
        Pending => "pending",
        Approved => "approved",
        Declined => "declined",
        TimedOut => "timed_out",
        Refunded => "refunded",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [
            PaymentState::Pending,
            PaymentState::Approved,
            PaymentState::Declined,
            PaymentState::TimedOut,
            PaymentState::Refunded,
        ] {
            assert_eq!(PaymentState::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderState::parse("paid"), Some(OrderState::Paid));
        assert_eq!(TicketStatus::parse("void"), None);
    }
}
