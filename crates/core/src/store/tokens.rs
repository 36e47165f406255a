//! SCIM tokens and API keys as stored (`scim_tokens`, tenant-owned, one `kind` column for
//! both): creating, listing, revoking them as [`TokenInfo`]s, and the lookup by public
//! id that authenticates a presented secret.
//!
//! Every function takes the tenant's [`TenantScope`] and filters on it, except
//! [`credential`]: authentication starts from the secret alone, and the row it finds is
//! what decides the tenant.

use roster_entity::{scim_token, tenant, trusted_domain};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::TenantScope;
use crate::api::ApiScope;
use crate::tenants::TenantId;
use crate::time::Timestamp;
use crate::tokens::{API_KEY_PREFIX, KIND_API, TOKEN_PREFIX, TokenId, TokenInfo, TokenKind};

impl From<scim_token::Model> for TokenInfo {
    fn from(row: scim_token::Model) -> Self {
        Self {
            id: TokenId(row.id),
            tenant_id: TenantId(row.tenant_id),
            display_prefix: format!(
                "{}{}",
                if row.kind == KIND_API {
                    API_KEY_PREFIX
                } else {
                    TOKEN_PREFIX
                },
                row.public_id
            ),
            label: row.label,
            created_at: Timestamp::from_micros(row.created_at),
            expires_at: row.expires_at.map(Timestamp::from_micros),
            last_used_at: row.last_used_at.map(Timestamp::from_micros),
            revoked_at: row.revoked_at.map(Timestamp::from_micros),
            domain_id: row.domain_id,
            api_scope: ApiScope::from_stored(&row.api_scope),
        }
    }
}

/// A token to insert; its id is a new UUIDv7 and its tenant the scope's.
pub(crate) struct NewToken {
    pub kind: TokenKind,
    pub public_id: String,
    pub secret_hash: String,
    pub label: String,
    pub created_at: Timestamp,
    pub created_by: Option<Uuid>,
    pub expires_at: Option<Timestamp>,
    pub domain: Option<Uuid>,
    pub api_scope: ApiScope,
}

/// A token's row and its tenant's, as authentication needs them.
pub(crate) struct CredentialRow {
    pub token: TokenInfo,
    pub secret_hash: String,
    pub tenant_id: TenantId,
    /// As stored (parsed again by the caller).
    pub tenant_slug: String,
    /// As stored: anything but `active` is suspended.
    pub tenant_status: String,
    pub tenant_rate_limit: Option<i32>,
}

/// Whether `domain` is one of the tenant's verified trusted domains.
pub(crate) async fn is_verified_domain(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    domain: Uuid,
) -> Result<bool, DbErr> {
    let verified = trusted_domain::Entity::find_by_id(domain)
        .filter(trusted_domain::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(trusted_domain::Column::VerifiedAt.is_not_null())
        .one(conn)
        .await?;
    Ok(verified.is_some())
}

/// Inserts a token of the tenant and returns it.
pub(crate) async fn insert(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    new: NewToken,
) -> Result<TokenInfo, DbErr> {
    let row = scim_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_uuid()),
        public_id: Set(new.public_id),
        secret_hash: Set(new.secret_hash),
        label: Set(new.label),
        created_at: Set(new.created_at.as_micros()),
        created_by: Set(new.created_by),
        expires_at: Set(new.expires_at.map(Timestamp::as_micros)),
        last_used_at: Set(None),
        revoked_at: Set(None),
        domain_id: Set(new.domain),
        kind: Set(new.kind.as_str().to_owned()),
        api_scope: Set(new.api_scope.as_str().to_owned()),
    }
    .insert(conn)
    .await?;
    Ok(TokenInfo::from(row))
}

/// Up to `limit` of the tenant's tokens of `kind`, newest first, those before `before`
/// (keyset on the UUIDv7 id), revoked ones included.
pub(crate) async fn page(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    kind: TokenKind,
    before: Option<TokenId>,
    limit: u64,
) -> Result<Vec<TokenInfo>, DbErr> {
    let mut query = scim_token::Entity::find()
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(scim_token::Column::Kind.eq(kind.as_str()))
        .order_by_desc(scim_token::Column::Id)
        .limit(limit);
    if let Some(before) = before {
        query = query.filter(scim_token::Column::Id.lt(before.0));
    }
    let rows = query.all(conn).await?;
    Ok(rows.into_iter().map(TokenInfo::from).collect())
}

/// Up to `limit` unrevoked tokens of `kind` limited to one of `domains`, newest first.
pub(crate) async fn for_domains(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    kind: TokenKind,
    domains: &[Uuid],
    limit: u64,
) -> Result<Vec<TokenInfo>, DbErr> {
    Ok(scim_token::Entity::find()
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(scim_token::Column::Kind.eq(kind.as_str()))
        .filter(scim_token::Column::DomainId.is_in(domains.iter().copied()))
        .filter(scim_token::Column::RevokedAt.is_null())
        .order_by_desc(scim_token::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(TokenInfo::from)
        .collect())
}

/// The tenant's token of `kind` with this id, if any.
pub(crate) async fn find(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    kind: TokenKind,
    id: TokenId,
) -> Result<Option<TokenInfo>, DbErr> {
    Ok(scim_token::Entity::find_by_id(id.0)
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(scim_token::Column::Kind.eq(kind.as_str()))
        .one(conn)
        .await?
        .map(TokenInfo::from))
}

/// Revokes the tenant's unrevoked token of `kind` at `now`; the token as revoked if this
/// revoked it, `None` if there was nothing to revoke.
pub(crate) async fn revoke(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    kind: TokenKind,
    id: TokenId,
    now: Timestamp,
) -> Result<Option<TokenInfo>, DbErr> {
    let revoked = scim_token::Entity::update_many()
        .col_expr(scim_token::Column::RevokedAt, Expr::value(now.as_micros()))
        .filter(scim_token::Column::Id.eq(id.0))
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(scim_token::Column::Kind.eq(kind.as_str()))
        .filter(scim_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    if revoked.rows_affected != 1 {
        return Ok(None);
    }
    find(conn, scope, kind, id).await
}

/// When a live (unrevoked, unexpired at `now`) token of `kind` was last used, if ever.
pub(crate) async fn last_used(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    kind: TokenKind,
    now: Timestamp,
) -> Result<Option<Timestamp>, DbErr> {
    let now = now.as_micros();
    let last: Option<Option<i64>> = scim_token::Entity::find()
        .select_only()
        .column_as(scim_token::Column::LastUsedAt.max(), "last_used")
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(scim_token::Column::Kind.eq(kind.as_str()))
        .filter(scim_token::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(scim_token::Column::ExpiresAt.is_null())
                .add(scim_token::Column::ExpiresAt.gt(now)),
        )
        .into_tuple()
        .one(conn)
        .await?;
    Ok(last.flatten().map(Timestamp::from_micros))
}

/// The token of `kind` with this public id and its tenant, whichever tenant that is (a
/// token whose tenant row is gone is not found).
pub(crate) async fn credential(
    conn: &impl ConnectionTrait,
    kind: TokenKind,
    public_id: &str,
) -> Result<Option<CredentialRow>, DbErr> {
    let Some(token) = scim_token::Entity::find()
        .filter(scim_token::Column::PublicId.eq(public_id))
        .filter(scim_token::Column::Kind.eq(kind.as_str()))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let tenant = tenant::Entity::find_by_id(token.tenant_id)
        .one(conn)
        .await?;
    Ok(tenant.map(|tenant| CredentialRow {
        secret_hash: token.secret_hash.clone(),
        token: TokenInfo::from(token),
        tenant_id: TenantId(tenant.id),
        tenant_slug: tenant.slug,
        tenant_status: tenant.status,
        tenant_rate_limit: tenant.scim_rate_limit,
    }))
}

/// Records that the tenant's token was accepted at `at`.
pub(crate) async fn record_use(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    token: TokenId,
    at: Timestamp,
) -> Result<(), DbErr> {
    scim_token::Entity::update_many()
        .col_expr(scim_token::Column::LastUsedAt, Expr::value(at.as_micros()))
        .filter(scim_token::Column::Id.eq(token.0))
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// The scope's tokens of `kind` (`scim` or `api`), newest first; revoked ones too unless
/// `unrevoked` (expired ones are always included).
pub(crate) async fn tokens(
    conn: &impl ConnectionTrait,
    scope: TenantScope,
    kind: TokenKind,
    unrevoked: bool,
) -> Result<Vec<TokenInfo>, DbErr> {
    let mut query = scim_token::Entity::find()
        .filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()))
        .filter(scim_token::Column::Kind.eq(kind.as_str()))
        .order_by_desc(scim_token::Column::Id);
    if unrevoked {
        query = query.filter(scim_token::Column::RevokedAt.is_null());
    }
    Ok(query
        .all(conn)
        .await?
        .into_iter()
        .map(TokenInfo::from)
        .collect())
}

/// The token of `kind` with the public id `public_id`: the scope's, or — with no scope —
/// whichever tenant's it is (a request to the shared SCIM URL names its tenant only
/// through its token).
pub(crate) async fn by_public_id(
    conn: &impl ConnectionTrait,
    scope: Option<TenantScope>,
    kind: TokenKind,
    public_id: &str,
) -> Result<Option<TokenInfo>, DbErr> {
    let mut query = scim_token::Entity::find()
        .filter(scim_token::Column::PublicId.eq(public_id))
        .filter(scim_token::Column::Kind.eq(kind.as_str()));
    if let Some(scope) = scope {
        query = query.filter(scim_token::Column::TenantId.eq(scope.tenant_uuid()));
    }
    Ok(query.one(conn).await?.map(TokenInfo::from))
}
