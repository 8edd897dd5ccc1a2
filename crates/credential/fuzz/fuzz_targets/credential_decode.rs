//! Feeds arbitrary bytes to every credential decoding path: static `ADM1:` and device-bound
//! `ADP1:` text, binary credentials and presentations, and the gate's `verify_scanned`.
//! The properties live in `admit_credential::fuzzing::check_decoder`, which the test suite also
//! runs over the committed seed corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    admit_credential::fuzzing::check_decoder(data);
});
