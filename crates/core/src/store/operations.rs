//! Long-running operations (exports, imports, purges) as stored.
