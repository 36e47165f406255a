//! SCIM tokens and API keys as stored, and the lookups that authenticate them.
