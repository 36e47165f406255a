//! Provisioning's writes and lookups on users, groups, members and emails.
