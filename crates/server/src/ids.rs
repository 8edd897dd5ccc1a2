//! Identifiers for holds, payments and orders: unguessable, and in creation order.
//!
//! These ids are capabilities (whoever knows a hold's or an order's id may pay for it or see
//! its tickets), so they must not be guessable; and they are primary and unique keys, so where
//! they sort decides how inserts land in the B-trees. A random UUIDv4 puts every insert on a
//! random index page: during an on-sale each group commit rewrote hundreds of scattered pages.
//! A UUIDv7 (RFC 9562) starts with the creation time in milliseconds, so new keys append to
//! the right edge of each index and a batch dirties a few pages. The remaining 74 bits are all
//! random (no counter: `NoContext`), drawn from a cryptographic generator.

use uuid::timestamp::{Timestamp, context::NoContext};

/// A fresh time-ordered id with 74 random bits, as text.
pub fn time_ordered() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    uuid::Uuid::new_v7(Timestamp::from_unix(NoContext, now.as_secs(), now.subsec_nanos())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_creation_order_and_are_not_repeated() {
        let a = time_ordered();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = time_ordered();
        assert!(a < b, "{a} should sort before {b}");
        let many: std::collections::HashSet<String> = (0..10_000).map(|_| time_ordered()).collect();
        assert_eq!(many.len(), 10_000);
    }

    #[test]
    fn ids_are_version_7_uuids() {
        let id = uuid::Uuid::parse_str(&time_ordered()).unwrap();
        assert_eq!(id.get_version_num(), 7);
    }
}
