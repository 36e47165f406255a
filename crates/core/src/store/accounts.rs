//! Admin accounts, invitations, setup links and tenant memberships as stored.
