//! The outbox's event rows and the sequencer's position as stored.
