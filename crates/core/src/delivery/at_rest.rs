//! The node-wide side of sealed signing secrets (see [`crate::secrets`]): sealing what an
//! older version stored in clear, checking at startup that every stored secret opens
//! with this node's keys, and re-sealing everything under the current key
//! (`roster secrets rotate`).
//!
//! Every write is a compare-and-set on the values read (`WHERE secret = <read>`), so
//! nodes that start together, or an admin rotating an endpoint's secret meanwhile, never
//! have a value sealed twice or a newer value overwritten.

use sea_orm::DbErr;
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::webhooks::{new_secret, secret_context};
use crate::Database;
use crate::secrets::{self, Keyring, OpenError};
use crate::store::deliveries::EndpointRow;
use crate::store::deliveries::secrets as stored;

/// Rows read at a time.
const PAGE: u64 = 500;

/// Why the stored secrets cannot be used or rotated, in one sentence for the operator.
#[derive(Debug, thiserror::Error)]
pub enum AtRestError {
    #[error(
        "{count} webhook signing secret(s) in the database were encrypted with key id(s) {ids}, \
         but ROSTER_SECRET_KEY is key {current}{previous}: set the key they were encrypted \
         with (as ROSTER_SECRET_KEY or ROSTER_SECRET_KEY_PREVIOUS), or run `roster secrets \
         rotate --replace-undecryptable` to replace them with new secrets"
    )]
    UnknownKeys {
        count: u64,
        ids: String,
        current: String,
        /// `" and ROSTER_SECRET_KEY_PREVIOUS is key …"` or empty.
        previous: String,
    },
    #[error(
        "{0} webhook signing secret(s) do not decrypt with ROSTER_SECRET_KEY or \
         ROSTER_SECRET_KEY_PREVIOUS and were left as they are; run `roster secrets rotate \
         --replace-undecryptable` to replace them with new secrets"
    )]
    Undecryptable(u64),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// What a rotation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Values re-sealed (or sealed, if they were in clear) under the current key.
    pub resealed: u64,
    /// Values that did not open and were replaced by new random secrets (current) or
    /// dropped (previous), with `--replace-undecryptable`.
    pub replaced: u64,
    /// Endpoints whose current secret was replaced: their tenant admins must rotate it.
    pub replaced_endpoints: Vec<Uuid>,
}

/// Sealed signing secrets, node-wide (an operator's concern, not a tenant's).
#[derive(Clone, Debug)]
pub struct SecretsAtRest {
    db: Database,
    keyring: Keyring,
}

/// The new value of one column, or `None` to leave it.
type Change = Option<Option<String>>;

impl SecretsAtRest {
    pub fn new(db: Database, keyring: Keyring) -> Self {
        Self { db, keyring }
    }

    /// At startup: seals every secret stored in clear, then checks that every stored
    /// secret was sealed with a key of this keyring (by key id, without decrypting).
    /// Returns how many values were sealed.
    pub async fn prepare(&self) -> Result<u64, AtRestError> {
        let sealed = self.seal_plaintext().await?;
        if sealed > 0 {
            tracing::info!(
                sealed,
                key = self.keyring.current_id(),
                "encrypted webhook signing secrets stored in clear by an earlier version"
            );
        }
        let mut unknown = Vec::new();
        let mut unknown_count = 0;
        let mut on_previous = 0;
        for (key_id, count) in self.key_ids().await? {
            if key_id == self.keyring.current_id() {
                continue;
            }
            if self.keyring.knows(&key_id) {
                on_previous += count;
            } else {
                unknown_count += count;
                unknown.push(key_id);
            }
        }
        if !unknown.is_empty() {
            return Err(AtRestError::UnknownKeys {
                count: unknown_count,
                ids: unknown.join(", "),
                current: self.keyring.current_id().to_owned(),
                previous: self
                    .keyring
                    .previous_id()
                    .map(|id| format!(" and ROSTER_SECRET_KEY_PREVIOUS is key {id}"))
                    .unwrap_or_default(),
            });
        }
        if on_previous > 0 {
            tracing::info!(
                values = on_previous,
                "webhook signing secrets are still encrypted with ROSTER_SECRET_KEY_PREVIOUS; \
                 run `roster secrets rotate` to re-encrypt them with ROSTER_SECRET_KEY"
            );
        }
        Ok(sealed)
    }

    /// Re-seals every stored secret that is not under the current key (or is in clear).
    /// A value that opens with no key of the keyring is left as it is and counted
    /// (an error at the end), unless `replace_undecryptable`: then a current secret is
    /// replaced by a new random one and a previous one dropped.
    pub async fn rotate(&self, replace_undecryptable: bool) -> Result<Rotation, AtRestError> {
        let mut rotation = Rotation::default();
        let mut undecryptable = 0;
        let mut after: Option<Uuid> = None;
        loop {
            let rows = stored::endpoints_page(self.db.reader(), None, after, PAGE).await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = Some(last.id);
            for row in rows {
                let context = secret_context(row.id);
                let mut replaced_current = false;
                let current: Change = match self.reseal(&row.secret, &context) {
                    Resealed::Keep => None,
                    Resealed::New(value) => {
                        rotation.resealed += 1;
                        Some(Some(value))
                    }
                    Resealed::Undecryptable if replace_undecryptable => {
                        rotation.replaced += 1;
                        replaced_current = true;
                        Some(Some(self.keyring.seal(&new_secret(), &context)))
                    }
                    Resealed::Undecryptable => {
                        undecryptable += 1;
                        None
                    }
                };
                let previous: Change = match row.previous_secret.as_deref() {
                    None => None,
                    Some(value) => match self.reseal(value, &context) {
                        Resealed::Keep => None,
                        Resealed::New(value) => {
                            rotation.resealed += 1;
                            Some(Some(value))
                        }
                        Resealed::Undecryptable if replace_undecryptable => {
                            rotation.replaced += 1;
                            Some(None)
                        }
                        Resealed::Undecryptable => {
                            undecryptable += 1;
                            None
                        }
                    },
                };
                let written = self.compare_and_set(&row, current, previous).await?;
                if written && replaced_current {
                    rotation.replaced_endpoints.push(row.id);
                }
            }
        }
        if undecryptable > 0 {
            return Err(AtRestError::Undecryptable(undecryptable));
        }
        Ok(rotation)
    }

    fn reseal(&self, stored: &str, context: &[u8]) -> Resealed {
        if self.keyring.is_current(stored) {
            return Resealed::Keep;
        }
        match self.keyring.open(stored, context) {
            Ok(secret) => Resealed::New(self.keyring.seal(secret.expose_secret(), context)),
            Err(OpenError::Plaintext) => Resealed::New(self.keyring.seal(stored, context)),
            Err(_) => Resealed::Undecryptable,
        }
    }

    /// Seals the values stored in clear, a page at a time.
    async fn seal_plaintext(&self) -> Result<u64, DbErr> {
        let mut sealed = 0;
        let mut after: Option<Uuid> = None;
        loop {
            let prefix = format!("{}.%", secrets::FORMAT);
            let rows = stored::endpoints_page(self.db.reader(), Some(&prefix), after, PAGE).await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = Some(last.id);
            for row in rows {
                let context = secret_context(row.id);
                let seal = |value: &str| {
                    (!secrets::is_sealed(value)).then(|| self.keyring.seal(value, &context))
                };
                let current = seal(&row.secret).map(Some);
                let previous = row.previous_secret.as_deref().and_then(seal).map(Some);
                let values = u64::from(current.is_some()) + u64::from(previous.is_some());
                if self.compare_and_set(&row, current, previous).await? {
                    sealed += values;
                }
            }
        }
        Ok(sealed)
    }

    /// Writes the changed columns if the row still holds the values read; `false` when
    /// there was nothing to write or someone changed the row meanwhile.
    async fn compare_and_set(
        &self,
        row: &EndpointRow,
        current: Change,
        previous: Change,
    ) -> Result<bool, DbErr> {
        if current.is_none() && previous.is_none() {
            return Ok(false);
        }
        stored::compare_and_set(self.db.writer(), row, current.flatten(), previous).await
    }

    /// The key ids of the stored sealed values, with how many values each seals.
    async fn key_ids(&self) -> Result<Vec<(String, u64)>, DbErr> {
        stored::key_ids(&self.db).await
    }
}

enum Resealed {
    Keep,
    New(String),
    Undecryptable,
}
