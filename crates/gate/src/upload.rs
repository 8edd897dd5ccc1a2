//! Sending the scans taken offline to the server, oldest first, in batches sized by their
//! encoded bytes: the server takes at most 64 KiB per request (and 1,000 scans), so a batch is
//! filled up to [`BATCH_BYTES`], well under it, and any backlog drains however large it is. A
//! single scan (a few hundred bytes) always fits. Each scan is sent until the server has
//! answered it (an upload is idempotent per device and sequence number, so a batch whose answer
//! was lost is simply sent again); the answer marks it in the log and raises the ticket's entry
//! count to what the server now counts.

use crate::GateError;
use crate::client::{BATCH_FRAME_BYTES, ServerClient, encode_scan};
use crate::local::LocalDb;
use crate::model::PendingScan;

/// The most bytes one upload request's body may have: three quarters of the server's 64 KiB
/// body limit, leaving room for anything a later version adds around the scans.
pub const BATCH_BYTES: usize = 48 * 1024;

/// The most scans in one request (the server refuses more than 1,000 at once).
pub const BATCH_SCANS: u32 = 1_000;

/// What one round of uploading did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadSummary {
    pub uploaded: u64,
    /// Offline admits the server could not count (see `GET /sessions/{id}/conflicts`).
    pub conflicts: u64,
    /// Requests sent.
    pub batches: u64,
}

/// How many of the scans encoded as `sizes` (bytes each), oldest first, go into the next
/// request: as many as keep its body within `budget` bytes and `max_scans`, and always at
/// least one (a scan never waits behind a budget it alone would exceed).
pub fn batch_len(sizes: &[usize], budget: usize, max_scans: usize) -> usize {
    let mut body = BATCH_FRAME_BYTES;
    let mut taken = 0;
    for (i, size) in sizes.iter().take(max_scans).enumerate() {
        body += size + usize::from(i > 0);
        if body > budget && taken > 0 {
            break;
        }
        taken += 1;
    }
    taken
}

/// Uploads every pending scan.
pub async fn upload_pending(db: &LocalDb, client: &ServerClient) -> Result<UploadSummary, GateError> {
    let mut summary = UploadSummary::default();
    loop {
        let mut pending = db.pending_scans(BATCH_SCANS).await?;
        if pending.is_empty() {
            return Ok(summary);
        }
        let mut encoded: Vec<Vec<u8>> = pending.iter().map(encode_scan).collect();
        let sizes: Vec<usize> = encoded.iter().map(Vec::len).collect();
        let take = batch_len(&sizes, BATCH_BYTES, BATCH_SCANS as usize);
        pending.truncate(take);
        encoded.truncate(take);
        let results = client.upload_encoded(&encoded).await?;
        let in_order = results.len() == pending.len() && pending.iter().zip(&results).all(|(p, r)| p.seq == r.seq);
        if !in_order {
            return Err(GateError::Protocol(format!(
                "{} answers for {} scans, out of order",
                results.len(),
                pending.len()
            )));
        }
        let marks: Vec<(&PendingScan, String, Option<u32>)> = pending
            .iter()
            .zip(&results)
            .map(|(scan, result)| (scan, result.outcome.clone(), result.entries_used))
            .collect();
        db.mark_uploaded(&marks).await?;
        summary.uploaded += results.len() as u64;
        summary.conflicts += results.iter().filter(|r| r.outcome == "conflict").count() as u64;
        summary.batches += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::batch_body;

    #[test]
    fn a_batch_fills_up_to_the_byte_budget_and_no_further() {
        // Frame 12 bytes; each 100-byte scan after the first adds a comma.
        let sizes = [100; 10];
        assert_eq!(batch_len(&sizes, 12 + 100, 1_000), 1);
        assert_eq!(batch_len(&sizes, 12 + 100 + 101, 1_000), 2);
        assert_eq!(batch_len(&sizes, 12 + 100 + 101 + 100, 1_000), 2, "one byte short of the third");
        assert_eq!(batch_len(&sizes, 1 << 20, 1_000), 10);
        assert_eq!(batch_len(&sizes, 1 << 20, 4), 4, "never more scans than the server takes");
        assert_eq!(batch_len(&[], 1 << 20, 4), 0);
    }

    #[test]
    fn a_scan_larger_than_the_budget_still_goes_alone() {
        assert_eq!(batch_len(&[500, 10], 100, 1_000), 1);
    }

    #[test]
    fn the_counted_size_is_the_size_of_the_body_sent() {
        let scans: Vec<Vec<u8>> = (0..7).map(|i| vec![b'1'; 30 + i]).collect();
        let sizes: Vec<usize> = scans.iter().map(Vec::len).collect();
        for budget in 40..400 {
            let n = batch_len(&sizes, budget, 1_000);
            let body = batch_body(&scans[..n]);
            assert!(body.len() <= budget || n == 1, "budget {budget}: {} bytes", body.len());
            if n < scans.len() {
                assert!(batch_body(&scans[..n + 1]).len() > budget, "budget {budget}: room for one more");
            }
        }
        let body = batch_body(&scans[..2]);
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    }
}
