//! The outbox: what the product behind Roster learns of each change, and in which order.
//!
//! - [`events`]: the event types and the `events` rows a change writes in its own
//!   transaction (with the change and its log row), each carrying the resource after the
//!   change.
//! - [`sequencer`]: numbers committed events in commit order (`events.seq`) and creates
//!   one webhook delivery per interested endpoint, in the same transaction.
//!
//! The events API (`api.rs`) reads the numbered events; the webhook worker
//! (`delivery/worker.rs`) runs the sequencer and delivers. Neither reaches into
//! provisioning for them.

pub(crate) mod events;
pub(crate) mod sequencer;

pub use events::EventType;
