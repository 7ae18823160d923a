//! `nova_viewers`: the open viewer sessions this node started. Sessions are
//! rows shared by every node, and a player's heartbeats and leave may reach
//! any of them; counting each session on the node that started it keeps
//! the sum over nodes exact (every open session once) with no coordination.
//! A session ends here at once when its leave reaches this node, and
//! otherwise at this node's next viewer sweep, which asks the database
//! which of this node's sessions are still open (ended elsewhere, or
//! expired for missing heartbeats). A session resumed here that another
//! node started stays that node's.

use std::collections::HashSet;
use std::sync::Mutex;

use sqlx::PgPool;
use uuid::Uuid;

use crate::metrics;

#[derive(Default)]
pub(crate) struct ViewerTally {
    open: Mutex<HashSet<Uuid>>,
}

impl ViewerTally {
    pub(crate) fn started(&self, session: Uuid) {
        self.change(|open| {
            open.insert(session);
        });
    }

    pub(crate) fn ended(&self, session: Uuid) {
        self.change(|open| {
            open.remove(&session);
        });
    }

    /// Forgets the sessions the database says are no longer open. Sessions
    /// started while the query ran are not in its answer and are kept.
    pub(crate) async fn reconcile(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let asked: Vec<Uuid> = self.lock().iter().copied().collect();
        if asked.is_empty() {
            return Ok(());
        }
        let still_open: HashSet<Uuid> = sqlx::query_scalar(
            "SELECT id FROM live_stream_viewers WHERE id = ANY($1) AND left_at IS NULL",
        )
        .bind(&asked)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
        self.change(|open| {
            for session in asked.iter().filter(|id| !still_open.contains(id)) {
                open.remove(session);
            }
        });
        Ok(())
    }

    /// Changes the set and the gauge under one lock, so concurrent changes
    /// cannot leave the gauge on a stale count.
    fn change(&self, change: impl FnOnce(&mut HashSet<Uuid>)) {
        let mut open = self.lock();
        change(&mut open);
        ::metrics::gauge!(metrics::VIEWERS).set(open.len() as f64);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        // The set stays consistent even if a holder panicked.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
