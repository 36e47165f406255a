//! Admin sessions as stored.
