//! Shared test fixtures: a typical payload and a proptest strategy for any valid payload.

use crate::{HolderBinding, Payload};
use proptest::collection::vec;
use proptest::prelude::*;

/// A seated VIP ticket with no holder binding.
pub(crate) fn sample_payload() -> Payload {
    Payload {
        key_id: 7,
        ticket_id: 1_234_567_890,
        ticket_version: 2,
        session_id: 42,
        seat: "Block A, Row 3, Seat 17".into(),
        grade: "VIP".into(),
        valid_from: 1_767_225_600,
        valid_until: 1_767_254_400,
        holder: HolderBinding::None,
        reserved: vec![],
    }
}

fn holder() -> impl Strategy<Value = HolderBinding> {
    prop_oneof![
        Just(HolderBinding::None),
        any::<[u8; 32]>().prop_map(HolderBinding::DeviceEd25519),
        (any::<u8>(), any::<[u8; 32]>()).prop_map(|(first, rest)| {
            let mut key = [0; 33];
            key[0] = first;
            key[1..].copy_from_slice(&rest);
            HolderBinding::DeviceP256(key)
        }),
        any::<[u8; 32]>().prop_map(HolderBinding::PhoneHash),
    ]
}

/// Any payload that `encode` accepts, including multi-byte UTF-8 right up to the limits.
pub(crate) fn valid_payload() -> impl Strategy<Value = Payload> {
    (
        (any::<u32>(), any::<u64>(), any::<u32>(), any::<u64>()),
        ("\\PC{0,16}", "[A-Z0-9]{0,32}"),
        (any::<i64>(), any::<i64>()),
        holder(),
        vec(any::<u8>(), 0..=64),
    )
        .prop_filter("seat fits", |(_, (seat, _), ..)| seat.len() <= 64)
        .prop_map(|(ids, (seat, grade), (a, b), holder, reserved)| Payload {
            key_id: ids.0,
            ticket_id: ids.1,
            ticket_version: ids.2,
            session_id: ids.3,
            seat,
            grade,
            valid_from: a.min(b),
            valid_until: a.max(b),
            holder,
            reserved,
        })
}
