//! CPU-heavy request work, off the async workers.
//!
//! The HTTP workers are one per core, each running many requests' futures; a request
//! that computes for tens of milliseconds holds its worker, and every request queued on
//! it waits. Work of that size (evaluating a filter in memory over thousands of rows)
//! runs on the blocking pool instead, at most `cores − 1` pieces at a time across the
//! node, first come first served: the workers stay free to answer everyone else, and
//! one tenant's heavy requests queue behind each other rather than take every core.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use crate::{Error, Result};

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// Runs `work` on the blocking pool when a slot is free, and returns its result.
pub async fn offload<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let _slot = slots()
        .acquire()
        .await
        .map_err(|err| Error::internal("the CPU slots are closed", err))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::internal("offloaded work failed", err))
}
