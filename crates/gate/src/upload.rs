//! Sending the scans taken offline to the server, oldest first, in batches. Each scan is sent
//! until the server has answered it (an upload is idempotent per device and sequence number,
//! so a batch whose answer was lost is simply sent again); the answer marks it in the log and
//! raises the ticket's entry count to what the server now counts.

use crate::GateError;
use crate::client::ServerClient;
use crate::local::LocalDb;
use crate::model::PendingScan;

/// Scans per upload request.
pub const BATCH: u32 = 500;

/// What one round of uploading did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadSummary {
    pub uploaded: u64,
    /// Offline admits the server could not count (see `GET /sessions/{id}/conflicts`).
    pub conflicts: u64,
}

/// Uploads every pending scan.
pub async fn upload_pending(db: &LocalDb, client: &ServerClient) -> Result<UploadSummary, GateError> {
    let mut summary = UploadSummary::default();
    loop {
        let pending = db.pending_scans(BATCH).await?;
        if pending.is_empty() {
            return Ok(summary);
        }
        let results = client.upload(&pending).await?;
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
    }
}
