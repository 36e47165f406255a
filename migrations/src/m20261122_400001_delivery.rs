//! Downstream delivery: the commit-order sequence of the outbox, webhook endpoints and
//! their deliveries, and API keys.
//!
//! `events.seq` is assigned by the sequencer (one at a time across all nodes) after the
//! event's transaction committed: an event that commits late gets a later `seq`, so a
//! reader paging by `seq` never skips one, whatever order transactions commit in.
//! Unique, so two sequencers can never hand out the same position.
//!
//! `scim_tokens.kind` separates SCIM tokens (`scim`) from events/directory API keys
//! (`api`): both are bearer secrets with the same lifecycle and the same verification.
//!
//! `webhook_deliveries` holds one row per (endpoint, event), created by the sequencer in
//! the same transaction that sequences the event, so no event is lost between the two.
//! `(endpoint_id, resource_id, id)` lets the worker deliver a resource's events in order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Seq,
}

#[derive(DeriveIden)]
enum ScimTokens {
    Table,
    Kind,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    TenantId,
    Url,
    Description,
    EventTypes,
    Enabled,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    EndpointId,
    EventPk,
    ResourceId,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LeaseOwner,
    LastAttemptAt,
    LastStatusCode,
    LastError,
    CreatedAt,
    FinishedAt,
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for column in columns {
        stmt.col(Alias::new(*column));
    }
    stmt.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(big_integer_null(Events::Seq))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_events_seq", Events::Table, &["seq"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_events_tenant_seq",
                Events::Table,
                &["tenant_id", "seq"],
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ScimTokens::Table)
                    .add_column(string(ScimTokens::Kind).default("scim"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(uuid(WebhookEndpoints::Id).primary_key())
                    .col(uuid(WebhookEndpoints::TenantId))
                    .col(string(WebhookEndpoints::Url))
                    .col(string(WebhookEndpoints::Description))
                    .col(text(WebhookEndpoints::EventTypes))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(string(WebhookEndpoints::Secret))
                    .col(string_null(WebhookEndpoints::PreviousSecret))
                    .col(big_integer_null(WebhookEndpoints::PreviousSecretExpiresAt))
                    .col(big_integer(WebhookEndpoints::CreatedAt))
                    .col(big_integer(WebhookEndpoints::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookEndpoints::Table, WebhookEndpoints::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_webhook_endpoints_tenant",
                WebhookEndpoints::Table,
                &["tenant_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(big_pk_auto(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::TenantId))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(big_integer(WebhookDeliveries::EventPk))
                    .col(uuid(WebhookDeliveries::ResourceId))
                    .col(string(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(big_integer(WebhookDeliveries::NextAttemptAt))
                    .col(big_integer_null(WebhookDeliveries::LeaseUntil))
                    .col(string_null(WebhookDeliveries::LeaseOwner))
                    .col(big_integer_null(WebhookDeliveries::LastAttemptAt))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(big_integer(WebhookDeliveries::CreatedAt))
                    .col(big_integer_null(WebhookDeliveries::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EventPk)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker's claim: due pending deliveries, oldest first.
        manager
            .create_index(index(
                "ix_webhook_deliveries_due",
                WebhookDeliveries::Table,
                &["status", "next_attempt_at"],
            ))
            .await?;
        // Per-resource order, and the endpoint's delivery list.
        manager
            .create_index(index(
                "ix_webhook_deliveries_order",
                WebhookDeliveries::Table,
                &["endpoint_id", "resource_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_endpoint",
                WebhookDeliveries::Table,
                &["endpoint_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_event",
                WebhookDeliveries::Table,
                &["event_pk"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(Index::drop().name("ix_events_tenant_seq").to_owned())
            .await?;
        manager
            .drop_index(Index::drop().name("ux_events_seq").to_owned())
            .await?;
        for (table, column) in [
            (Events::Table.into_iden(), Events::Seq.into_iden()),
            (ScimTokens::Table.into_iden(), ScimTokens::Kind.into_iden()),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
