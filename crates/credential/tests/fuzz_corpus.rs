//! Replays the decoder fuzzer's seed corpus (crates/credential/fuzz/corpus/credential_decode)
//! through the same harness the fuzz target runs: nothing panics, and the seeds with a known
//! meaning (static credentials and device presentations) get exactly that verdict.

use admit_credential::fuzzing::{Outcome, check_decoder};
use std::path::Path;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/credential_decode");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read the seed corpus {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read a seed"))
        })
        .collect();
    seeds.sort();
    seeds
}

#[test]
fn every_seed_of_the_fuzz_corpus_decodes_without_panicking() {
    let seeds = corpus();
    assert!(seeds.len() >= 26, "the seed corpus is missing files: {}", seeds.len());
    for (name, bytes) in &seeds {
        let outcome = std::panic::catch_unwind(|| check_decoder(bytes));
        assert!(outcome.is_ok(), "seed {name} panicked the decoder");
    }
}

#[test]
fn seeds_with_a_known_meaning_get_their_verdict() {
    let verdict = |name: &str| {
        let (_, bytes) = corpus().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("seed {name}"));
        check_decoder(&bytes)
    };
    for genuine in ["genuine.txt", "phone_bound.txt", "long_seat_reserved.txt"] {
        assert!(matches!(verdict(genuine), Outcome::Verified(v) if !v.device_proof), "{genuine}");
    }
    for presented in ["presentation.txt", "presentation_p256.txt"] {
        assert!(matches!(verdict(presented), Outcome::Verified(v) if v.device_proof), "{presented}");
    }
    assert_eq!(verdict("device_bound.txt"), Outcome::Refused("device_proof_missing"));
    assert_eq!(verdict("presentation_stale.txt"), Outcome::Refused("stale_proof"));
    assert_eq!(verdict("presentation_other_device.txt"), Outcome::Refused("bad_device_signature"));
    assert_eq!(verdict("presentation_flipped_counter.txt"), Outcome::Refused("bad_device_signature"));
    assert_eq!(verdict("presentation_unbound.txt"), Outcome::Refused("malformed"));
    assert_eq!(verdict("presentation_version2.txt"), Outcome::Refused("unsupported_version"));
    assert_eq!(verdict("presentation_truncated.txt"), Outcome::Refused("malformed"));
    assert_eq!(verdict("flipped_signature.txt"), Outcome::Refused("bad_signature"));
    assert_eq!(verdict("unknown_key.txt"), Outcome::Refused("unknown_key"));
    assert_eq!(verdict("wrong_prefix.txt"), Outcome::Refused("unsupported_version"));
    assert_eq!(verdict("version2_signed.txt"), Outcome::Refused("unsupported_version"));
    // Bytes in an `ADM1:` envelope that are no credential: never "another version".
    assert_eq!(verdict("version2_unsigned.txt"), Outcome::Refused("malformed"));
    assert_eq!(verdict("noise_in_envelope.txt"), Outcome::Refused("malformed"));
    assert_eq!(verdict("bad_base45.txt"), Outcome::Refused("malformed"));
    assert_eq!(verdict("truncated.txt"), Outcome::Refused("malformed"));
    assert_eq!(verdict("empty"), Outcome::Refused("malformed"));
    assert_eq!(verdict("not_utf8.bin"), Outcome::Refused("malformed"));
}
