//! Downloading what offline verification needs: the first sync takes everything, later ones
//! only what changed since the saved cursor. Pages are applied as they arrive (each in one
//! local transaction); the cursor is saved with the last page, so an interrupted sync is
//! simply repeated from the previous cursor.

use crate::client::ServerClient;
use crate::local::LocalDb;
use crate::{GateError, now_ms};
use std::time::{Duration, Instant};

/// What a sync did and what the terminal now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    /// Tickets received in this sync (all of them the first time, changes afterwards).
    pub received: u64,
    pub pages: u32,
    pub incremental: bool,
    pub keys: i64,
    pub sessions: i64,
    pub tickets: i64,
    /// Listed tickets that were cancelled or re-issued (their earlier codes are refused).
    pub revoked: i64,
    pub elapsed: Duration,
}

impl std::fmt::Display for SyncSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{kind} sync: {received} ticket update(s) in {pages} page(s), {secs:.1} s. Now holding {keys} key(s), \
             {sessions} session(s), {tickets} ticket(s), {revoked} revoked.",
            kind = if self.incremental { "Incremental" } else { "Full" },
            received = self.received,
            pages = self.pages,
            secs = self.elapsed.as_secs_f64(),
            keys = self.keys,
            sessions = self.sessions,
            tickets = self.tickets,
            revoked = self.revoked,
        )
    }
}

/// Syncs from the saved cursor to now. `progress(received, total)` is called after each page
/// (`total` is known from the first page).
pub async fn sync(
    db: &LocalDb,
    client: &ServerClient,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<SyncSummary, GateError> {
    let started = Instant::now();
    let (since, _) = db.sync_state().await?;
    let (mut page_token, mut received, mut pages, mut total) = (None::<String>, 0u64, 0u32, None);
    loop {
        let page = client.sync_page(since.as_deref(), page_token.as_deref()).await?;
        pages += 1;
        received += page.tickets.len() as u64;
        total = total.or(page.total_tickets);
        let complete = page.next_page.is_none().then(|| (page.cursor.as_str(), now_ms()));
        db.apply_sync_page(&page, complete).await?;
        progress(received, total);
        match page.next_page {
            Some(next) => page_token = Some(next),
            None => break,
        }
    }
    let (keys, sessions, tickets, revoked) = db.list_counts().await?;
    Ok(SyncSummary {
        received,
        pages,
        incremental: since.is_some(),
        keys,
        sessions,
        tickets,
        revoked,
        elapsed: started.elapsed(),
    })
}
