//! Admission passes: the proof, handed out by the waiting room, that a buyer's turn has come.
//!
//! `AP1.<event id>.<entry id>.<expires at, unix ms>.<MAC>`: an HMAC-SHA-256 (first 16 bytes, hex)
//! under a key derived from the event's inspection key, so every node that can serve the event
//! can check a pass without a database read, and a pass for one event is worthless for another.

use admit_domain::EventId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "AP1";
const MAC_LEN: usize = 16;

/// What a valid pass says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionPass {
    pub event_id: EventId,
    /// The waiting-room entry the pass was issued to (the buyer, for rate limits).
    pub entry_id: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    #[error("the admission pass is not in the expected format")]
    Malformed,
    #[error("the admission pass was not issued by this server")]
    BadSignature,
    #[error("the admission pass is for another event")]
    WrongEvent,
    #[error("the admission pass has expired; join the waiting room again")]
    Expired,
}

/// The pass key of an event, derived from its inspection key (domain-separated).
pub fn pass_key(inspection_key: &[u8; 32]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(inspection_key).expect("HMAC takes any key length");
    mac.update(b"admit/admission-pass/v1");
    mac.finalize().into_bytes().into()
}

fn mac_over(key: &[u8; 32], signed: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    mac
}

fn entry_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub fn issue(key: &[u8; 32], pass: &AdmissionPass) -> String {
    debug_assert!(entry_id_ok(&pass.entry_id));
    let signed = format!("{PREFIX}.{}.{}.{}", pass.event_id.0, pass.entry_id, pass.expires_at_ms);
    let tag = mac_over(key, &signed).finalize().into_bytes();
    format!("{signed}.{}", hex::encode(&tag[..MAC_LEN]))
}

/// Checks a pass for `event` at `now_ms`: format, MAC (constant time), event, expiry.
pub fn verify(key: &[u8; 32], text: &str, event: EventId, now_ms: i64) -> Result<AdmissionPass, PassError> {
    let (signed, tag) = text.trim().rsplit_once('.').ok_or(PassError::Malformed)?;
    let mut parts = signed.split('.');
    let (Some(PREFIX), Some(event_id), Some(entry_id), Some(expires), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PassError::Malformed);
    };
    let event_id: i64 = event_id.parse().map_err(|_| PassError::Malformed)?;
    let expires_at_ms: i64 = expires.parse().map_err(|_| PassError::Malformed)?;
    let tag = hex::decode(tag).map_err(|_| PassError::Malformed)?;
    if !entry_id_ok(entry_id) || tag.len() != MAC_LEN {
        return Err(PassError::Malformed);
    }
    // A pass naming another event is refused as such (it would fail the MAC under this
    // event's key anyway; saying why helps the buyer and reveals nothing).
    if event_id != event.0 {
        return Err(PassError::WrongEvent);
    }
    mac_over(key, signed).verify_truncated_left(&tag).map_err(|_| PassError::BadSignature)?;
    if now_ms >= expires_at_ms {
        return Err(PassError::Expired);
    }
    Ok(AdmissionPass { event_id: EventId(event_id), entry_id: entry_id.to_owned(), expires_at_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn pass() -> AdmissionPass {
        AdmissionPass {
            event_id: EventId(3),
            entry_id: "0b5c3e7e-1f2a-4d4b-9a51-1c2d3e4f5a6b".into(),
            expires_at_ms: 5_000,
        }
    }

    #[test]
    fn a_pass_verifies_for_its_event_until_it_expires() {
        let text = issue(&KEY, &pass());
        assert!(text.starts_with("AP1.3.0b5c3e7e"));
        assert_eq!(verify(&KEY, &text, EventId(3), 4_999), Ok(pass()));
        assert_eq!(verify(&KEY, &text, EventId(3), 5_000), Err(PassError::Expired));
        assert_eq!(verify(&KEY, &text, EventId(4), 1_000), Err(PassError::WrongEvent));
    }

    #[test]
    fn a_pass_under_another_key_or_edited_is_refused() {
        let text = issue(&KEY, &pass());
        assert_eq!(verify(&[8; 32], &text, EventId(3), 0), Err(PassError::BadSignature));
        let longer = text.replacen(".5000.", ".9000000.", 1);
        assert_eq!(verify(&KEY, &longer, EventId(3), 0), Err(PassError::BadSignature));
        for bad in ["", "AP1", "AP1.3.x.5000", "AP2.3.e.5000.00", "AP1.3.e.5000.zz", "AP1.3.e.5000.00", "AP1.3.a.b.c.d"]
        {
            assert_eq!(verify(&KEY, bad, EventId(3), 0), Err(PassError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn the_pass_key_depends_on_the_event_key() {
        assert_ne!(pass_key(&[1; 32]), pass_key(&[2; 32]));
        assert_ne!(pass_key(&[1; 32]), [1; 32]);
    }
}
