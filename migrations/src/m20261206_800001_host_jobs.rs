//! The re-evaluation of a tenant's host assignments after its locations, kiosks or
//! mapping rules changed: one durable row per tenant, so that a job started on one node
//! resumes on any node after a restart (issue 14).

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
enum HostJobs {
    Table,
    TenantId,
    Generation,
    Reason,
    State,
    Cursor,
    Checked,
    Changed,
    RequestedAt,
    UpdatedAt,
    FinishedAt,
    LeaseOwner,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HostJobs::Table)
                    .col(uuid(HostJobs::TenantId).primary_key())
                    .col(big_integer(HostJobs::Generation))
                    .col(string(HostJobs::Reason))
                    .col(string(HostJobs::State))
                    .col(uuid_null(HostJobs::Cursor))
                    .col(big_integer(HostJobs::Checked))
                    .col(big_integer(HostJobs::Changed))
                    .col(big_integer(HostJobs::RequestedAt))
                    .col(big_integer(HostJobs::UpdatedAt))
                    .col(big_integer_null(HostJobs::FinishedAt))
                    .col(string_null(HostJobs::LeaseOwner))
                    .col(big_integer_null(HostJobs::LeaseUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .from(HostJobs::Table, HostJobs::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The workers look for running jobs whose lease expired: few rows, by state.
        manager
            .create_index(
                Index::create()
                    .name("ix_host_jobs_state")
                    .table(HostJobs::Table)
                    .col(HostJobs::State)
                    .col(HostJobs::LeaseUntil)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(HostJobs::Table).to_owned())
            .await
    }
}
