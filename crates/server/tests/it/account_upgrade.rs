//! Upgrading a database of global accounts to accounts scoped to tenants
//! (`m20261206_100001`): the data an earlier release left behind, migrated, then used
//! over HTTP — on SQLite (a table rebuild) and PostgreSQL alike.

use roster_core::admins::{AccountScope, AdminEmail};
use roster_core::hashing::hash_password_blocking;
use roster_core::sessions::{SessionPolicy, stored_session_id};
use roster_entity::{admin, admin_session, scim_token, tenant, tenant_membership};
use roster_migration::{Migrator, MigratorTrait};
use roster_testkit::{TestApp, TestDatabase};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use uuid::Uuid;

use crate::admin_support::*;

/// The migrations before tenant-scoped accounts.
const BEFORE: u32 = 6;

/// The migrations from the split on (later releases add theirs after it).
fn from_the_split() -> u32 {
    u32::try_from(Migrator::migrations().len()).unwrap() - BEFORE
}
const LEGACY_PASSWORD: &str = "legacy password 1";

async fn legacy_admin(
    db: &roster_core::Database,
    email: &str,
    operator: bool,
    pending: bool,
    hash: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    let statement = Query::insert()
        .into_table(Alias::new("admins"))
        .columns(
            [
                "id",
                "email",
                "email_lower",
                "password_hash",
                "is_operator",
                "must_change_password",
                "failed_logins",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values([
            id.into(),
            email.into(),
            email.to_lowercase().into(),
            hash.into(),
            operator.into(),
            pending.into(),
            0i32.into(),
            1i64.into(),
        ])
        .unwrap()
        .to_owned();
    db.writer().execute(&statement).await.unwrap();
    id
}

async fn legacy_membership(db: &roster_core::Database, tenant: Uuid, admin: Uuid, at: i64) {
    let statement = Query::insert()
        .into_table(Alias::new("tenant_memberships"))
        .columns(["tenant_id", "admin_id", "role", "created_at"].map(Alias::new))
        .values([tenant.into(), admin.into(), "admin".into(), at.into()])
        .unwrap()
        .to_owned();
    db.writer().execute(&statement).await.unwrap();
}

async fn legacy_session(db: &roster_core::Database, admin: Uuid) -> String {
    let secret = roster_core::crypto::random_token::<32>();
    let now = roster_core::time::Clock::system().now().as_micros();
    let statement = Query::insert()
        .into_table(Alias::new("admin_sessions"))
        .columns(
            [
                "id",
                "admin_id",
                "csrf_token",
                "created_at",
                "last_seen_at",
                "expires_at",
            ]
            .map(Alias::new),
        )
        .values([
            stored_session_id(&SecretString::from(secret.clone())).into(),
            admin.into(),
            "csrf".into(),
            now.into(),
            now.into(),
            (now + 3_600_000_000).into(),
        ])
        .unwrap()
        .to_owned();
    db.writer().execute(&statement).await.unwrap();
    secret
}

async fn legacy_tenant(db: &roster_core::Database, slug: &str) -> Uuid {
    let id = Uuid::now_v7();
    let statement = Query::insert()
        .into_table(Alias::new("tenants"))
        .columns(
            [
                "id",
                "slug",
                "name",
                "status",
                "created_at",
                "updated_at",
                "rules_version",
            ]
            .map(Alias::new),
        )
        .values([
            id.into(),
            slug.into(),
            slug.into(),
            "active".into(),
            1i64.into(),
            1i64.into(),
            0i64.into(),
        ])
        .unwrap()
        .to_owned();
    db.writer().execute(&statement).await.unwrap();
    id
}

#[tokio::test]
async fn global_accounts_become_one_account_per_tenant_on_upgrade() {
    let test_db = TestDatabase::new().await;
    let db = test_db.connect().await;
    Migrator::up(db.writer(), Some(BEFORE)).await.unwrap();
    assert_eq!(
        db.pending_migrations().await.unwrap(),
        from_the_split() as usize
    );

    let hash = hash_password_blocking(LEGACY_PASSWORD).unwrap();
    let acme = legacy_tenant(&db, "acme").await;
    let globex = legacy_tenant(&db, "globex").await;
    let operator = legacy_admin(&db, "Op@Roster.test", true, false, &hash).await;
    // An admin of two tenants, signed in; globex was granted later.
    let multi = legacy_admin(&db, "IT@corp.test", false, false, &hash).await;
    legacy_membership(&db, globex, multi, 20).await;
    legacy_membership(&db, acme, multi, 10).await;
    let multi_session = legacy_session(&db, multi).await;
    // An admin of one tenant, signed in.
    let solo = legacy_admin(&db, "solo@acme.test", false, false, &hash).await;
    legacy_membership(&db, acme, solo, 5).await;
    let solo_session = legacy_session(&db, solo).await;
    // Removed from every tenant (what the attack kept), with a session and a token.
    let gone = legacy_admin(&db, "it-admin@globex.example", false, false, &hash).await;
    let gone_session = legacy_session(&db, gone).await;
    let token = Query::insert()
        .into_table(Alias::new("scim_tokens"))
        .columns(
            [
                "id",
                "tenant_id",
                "public_id",
                "secret_hash",
                "label",
                "created_at",
                "created_by",
                "kind",
            ]
            .map(Alias::new),
        )
        .values([
            Uuid::now_v7().into(),
            acme.into(),
            "0123456789abcdef".into(),
            "$argon2id$x".into(),
            "Okta".into(),
            1i64.into(),
            gone.into(),
            "scim".into(),
        ])
        .unwrap()
        .to_owned();
    db.writer().execute(&token).await.unwrap();
    // Invited, still on the inviter's one-time password.
    let pending = legacy_admin(&db, "new@acme.test", false, true, &hash).await;
    legacy_membership(&db, acme, pending, 30).await;

    db.migrate().await.unwrap();
    assert_eq!(db.pending_migrations().await.unwrap(), 0);
    let r = db.reader();

    // One account per tenant, same email and hash; the oldest membership keeps the id.
    let accounts = admin::Entity::find()
        .filter(admin::Column::EmailLower.eq("it@corp.test"))
        .all(r)
        .await
        .unwrap();
    assert_eq!(accounts.len(), 2);
    let kept = accounts.iter().find(|a| a.id == multi).unwrap();
    let copy = accounts.iter().find(|a| a.id != multi).unwrap();
    assert_eq!(kept.tenant_id, Some(acme));
    assert_eq!(copy.tenant_id, Some(globex));
    assert_eq!(copy.password_hash, kept.password_hash);
    assert_eq!(copy.email, "IT@corp.test");
    assert!(!copy.is_operator);
    let memberships = tenant_membership::Entity::find().all(r).await.unwrap();
    assert!(
        memberships
            .iter()
            .any(|m| m.tenant_id == globex && m.admin_id == copy.id)
    );
    assert!(
        memberships
            .iter()
            .any(|m| m.tenant_id == acme && m.admin_id == multi)
    );
    assert!(
        !memberships
            .iter()
            .any(|m| m.tenant_id == globex && m.admin_id == multi)
    );

    // Sessions: the split account's ended, the single-tenant one's kept, the orphan's
    // gone with it (and its token kept, without an author).
    let sessions = admin_session::Entity::find().all(r).await.unwrap();
    let id_of = |secret: &str| stored_session_id(&SecretString::from(secret.to_owned()));
    assert!(!sessions.iter().any(|s| s.id == id_of(&multi_session)));
    assert!(!sessions.iter().any(|s| s.id == id_of(&gone_session)));
    assert!(sessions.iter().any(|s| s.id == id_of(&solo_session)));
    assert!(
        admin::Entity::find_by_id(gone)
            .one(r)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        scim_token::Entity::find().all(r).await.unwrap()[0].created_by,
        None
    );
    assert!(tenant::Entity::find().all(r).await.unwrap().len() == 2);

    // The operator spans tenants as before; the pending one-time password now expires.
    let op = admin::Entity::find_by_id(operator)
        .one(r)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(op.tenant_id, None);
    let pending_row = admin::Entity::find_by_id(pending)
        .one(r)
        .await
        .unwrap()
        .unwrap();
    let expires = pending_row.password_expires_at.expect("an expiry");
    let day = 24 * 3600 * 1_000_000;
    let now = roster_core::time::Clock::system().now().as_micros();
    assert!(expires > now + day - 600_000_000 && expires <= now + day);
    assert_eq!(kept.password_expires_at, None);

    // Over HTTP: the kept session works and is acme's; each account signs in to its
    // own tenant, with the password it had.
    let app = TestApp::builder().database(test_db).spawn().await;
    let current = app
        .services
        .sessions()
        .authenticate(
            &solo_session,
            SessionPolicy {
                ttl: std::time::Duration::from_secs(3600),
                idle_timeout: std::time::Duration::from_secs(3600),
            },
        )
        .await
        .unwrap()
        .expect("the single-tenant session survives");
    assert_eq!(current.admin.tenant_id.map(|t| t.0), Some(acme));
    let mut solo_browser = Browserless::new(&app);
    solo_browser
        .cookies
        .insert("roster_session".into(), solo_session.clone());
    assert_eq!(solo_browser.get_text("/admin/t/acme").await.0, 200);
    assert_eq!(solo_browser.get_text("/admin/t/globex").await.0, 404);
    let mut split_browser = Browserless::new(&app);
    split_browser
        .cookies
        .insert("roster_session".into(), multi_session.clone());
    assert_eq!(
        location(&split_browser.get("/admin/t/acme").await),
        "/admin/login?tenant=acme"
    );
    for organization in ["acme", "globex"] {
        let mut browser = Browserless::new(&app);
        let response = browser
            .sign_in_to(organization, "it@corp.test", LEGACY_PASSWORD)
            .await;
        assert_eq!(location(&response), "/admin", "{organization}");
        let other = if organization == "acme" {
            "globex"
        } else {
            "acme"
        };
        assert_eq!(browser.get_text(&format!("/admin/t/{other}")).await.0, 404);
    }
    let response = Browserless::new(&app)
        .sign_in_to("", "it@corp.test", LEGACY_PASSWORD)
        .await;
    assert_eq!(response.status(), 422, "not an operator");
    let response = Browserless::new(&app)
        .sign_in("op@roster.test", LEGACY_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin");
    assert!(
        app.services
            .admins()
            .find(
                &AccountScope::Operators,
                &AdminEmail::parse("it-admin@globex.example").unwrap()
            )
            .await
            .unwrap()
            .is_none()
    );
}

/// `down` merges the accounts of one email back into one (memberships kept), so the
/// earlier release's unique email holds again; `up` splits them once more.
#[tokio::test]
async fn the_split_is_reversible() {
    let test_db = TestDatabase::new().await;
    let db = test_db.connect().await;
    Migrator::up(db.writer(), Some(BEFORE)).await.unwrap();
    let hash = hash_password_blocking(LEGACY_PASSWORD).unwrap();
    let acme = legacy_tenant(&db, "acme").await;
    let globex = legacy_tenant(&db, "globex").await;
    let multi = legacy_admin(&db, "it@corp.test", false, false, &hash).await;
    legacy_membership(&db, acme, multi, 10).await;
    legacy_membership(&db, globex, multi, 20).await;
    db.migrate().await.unwrap();
    let count = |db: &roster_core::Database| {
        let conn = db.reader().clone();
        async move {
            let rows = conn
                .query_all(
                    &Query::select()
                        .column(Alias::new("id"))
                        .from(Alias::new("admins"))
                        .to_owned(),
                )
                .await
                .unwrap();
            rows.len()
        }
    };
    assert_eq!(count(&db).await, 2);

    Migrator::down(db.writer(), Some(from_the_split()))
        .await
        .unwrap();
    assert_eq!(count(&db).await, 1, "merged back into one account");
    let memberships = tenant_membership::Entity::find()
        .all(db.reader())
        .await
        .unwrap();
    assert_eq!(memberships.len(), 2);
    assert!(memberships.iter().all(|m| m.admin_id == multi));
    // The email is unique again.
    let duplicate = Query::insert()
        .into_table(Alias::new("admins"))
        .columns(
            [
                "id",
                "email",
                "email_lower",
                "password_hash",
                "is_operator",
                "must_change_password",
                "failed_logins",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values([
            Uuid::now_v7().into(),
            "it@corp.test".into(),
            "it@corp.test".into(),
            hash.clone().into(),
            false.into(),
            false.into(),
            0i32.into(),
            1i64.into(),
        ])
        .unwrap()
        .to_owned();
    let refused = db.writer().execute(&duplicate).await.unwrap_err();
    assert!(
        roster_core::error::is_unique_violation(&refused),
        "{refused}"
    );

    db.migrate().await.unwrap();
    assert_eq!(count(&db).await, 2, "split again");
}
