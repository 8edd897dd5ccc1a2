//! Tests for inspection passwords and ticket references.

use super::*;
use proptest::prelude::*;

const KEY: [u8; 32] = [0x5A; 32];

fn in_alphabet(s: &str) -> bool {
    s.bytes().all(|b| crockford::ALPHABET.contains(&b))
}

#[test]
fn inspection_password_is_deterministic_and_eight_unambiguous_characters() {
    let password = inspection_password(&KEY, 1_234, 1);
    assert_eq!(password, inspection_password(&KEY, 1_234, 1));
    assert_eq!(password.len(), 8);
    assert!(in_alphabet(&password), "{password}");
    assert!(!password.contains(['I', 'L', 'O', 'U']));
}

#[test]
fn inspection_password_changes_with_version_ticket_and_key() {
    let base = inspection_password(&KEY, 1_234, 1);
    assert_ne!(base, inspection_password(&KEY, 1_234, 2));
    assert_ne!(base, inspection_password(&KEY, 1_235, 1));
    assert_ne!(base, inspection_password(&[0x5B; 32], 1_234, 1));
}

#[test]
fn a_typed_password_is_forgiven_case_dashes_and_look_alikes() {
    let password = inspection_password(&KEY, 9, 3);
    let typed = format!("{}-{}", &password[..4], &password[4..]).to_lowercase();
    let typed = typed.replace('0', "o").replace('1', "l");
    assert!(inspection_password_matches(&KEY, 9, 3, &typed));
    assert!(!inspection_password_matches(&KEY, 9, 4, &typed));
    assert!(!inspection_password_matches(&KEY, 9, 3, &password[..7]));
    assert!(!inspection_password_matches(&KEY, 9, 3, "UUUUUUUU"));
}

#[test]
fn ticket_reference_has_the_documented_shape() {
    assert_eq!(ticket_reference(0), "T-0000-0000-0000-0");
    assert_eq!(ticket_reference(1), "T-0000-0000-0000-1");
    assert_eq!(ticket_reference(u64::MAX), "T-FZZZ-ZZZZ-ZZZZ-Z");
    assert_eq!(ticket_reference(32), "T-0000-0000-0001-0");
}

#[test]
fn ticket_reference_round_trips_at_the_edges() {
    for id in [0, 1, 31, 32, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
        assert_eq!(parse_ticket_reference(&ticket_reference(id)), Some(id), "{id}");
    }
}

#[test]
fn parse_ticket_reference_forgives_case_dashes_prefix_and_look_alikes() {
    let id = 0x0123_4567_89AB_CDEF;
    let reference = ticket_reference(id);
    let bare: String = reference.chars().filter(|&c| c != '-').collect();
    assert_eq!(parse_ticket_reference(&reference.to_lowercase()), Some(id));
    assert_eq!(parse_ticket_reference(&bare), Some(id));
    assert_eq!(parse_ticket_reference(&bare[1..]), Some(id));
    assert_eq!(parse_ticket_reference(" T-0000-0000-0000-l "), Some(1));
    assert_eq!(parse_ticket_reference("T-OOOO-OOOO-OOOO-O"), Some(0));
}

#[test]
fn parse_ticket_reference_refuses_wrong_lengths_characters_and_overflow() {
    assert_eq!(parse_ticket_reference(""), None);
    assert_eq!(parse_ticket_reference("T-0000-0000-0000"), None);
    assert_eq!(parse_ticket_reference("T-0000-0000-0000-00"), None);
    assert_eq!(parse_ticket_reference("T-0000-0000-0000-U"), None);
    assert_eq!(parse_ticket_reference("X-0000-0000-0000-0"), None);
    assert_eq!(parse_ticket_reference("T-G000-0000-0000-0"), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ticket_reference_round_trips_for_random_ids(id in any::<u64>()) {
        let reference = ticket_reference(id);
        prop_assert_eq!(reference.len(), 18);
        prop_assert_eq!(parse_ticket_reference(&reference), Some(id));
    }
}
