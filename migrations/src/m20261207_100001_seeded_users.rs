//! Users the product already had (issue 14, item 5): `users.product_ref`, the product's
//! own id for a user it seeded through the directory API or the admin's CSV import
//! (unique per tenant; NULLs repeat on both backends), and `scim_tokens.api_scope`, what
//! an API key may do (`read`, the default every existing key keeps, or `write`: read and
//! seed users).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    TenantId,
    ProductRef,
}

#[derive(DeriveIden)]
enum ScimTokens {
    Table,
    ApiScope,
}

const PRODUCT_REF_INDEX: &str = "ux_users_tenant_product_ref";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string_null(Users::ProductRef))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PRODUCT_REF_INDEX)
                    .table(Users::Table)
                    .col(Users::TenantId)
                    .col(Users::ProductRef)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ScimTokens::Table)
                    .add_column(string(ScimTokens::ApiScope).default("read"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ScimTokens::Table)
                    .drop_column(ScimTokens::ApiScope)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(PRODUCT_REF_INDEX).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::ProductRef)
                    .to_owned(),
            )
            .await
    }
}
