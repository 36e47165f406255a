//! Entities and migrations cannot drift: every entity is written and read back on a
//! freshly migrated database of the kind under test.

use roster_core::error::is_unique_violation;
use roster_entity::*;
use roster_migration::{Migrator, MigratorTrait};
use roster_testkit::TestDatabase;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, TransactionTrait};
use uuid::Uuid;

#[tokio::test]
async fn every_entity_round_trips_on_a_migrated_database() {
    let test_db = TestDatabase::new().await;
    let db = test_db.migrated().await;
    assert_eq!(db.pending_migrations().await.unwrap(), 0);
    db.check_ready().await.unwrap();
    let w = db.writer();

    let tenant_id = Uuid::now_v7();
    let admin_id = Uuid::now_v7();
    let user_id = Uuid::now_v7();
    let group_id = Uuid::now_v7();
    let token_id = Uuid::now_v7();

    tenant::ActiveModel {
        id: Set(tenant_id),
        slug: Set("acme".into()),
        name: Set("Acme".into()),
        status: Set("active".into()),
        created_at: Set(1),
        updated_at: Set(2),
        rules_version: Set(0),
        scim_rate_limit: Set(Some(10)),
    }
    .insert(w)
    .await
    .unwrap();
    admin::ActiveModel {
        id: Set(admin_id),
        tenant_id: Set(Some(tenant_id)),
        email: Set("It@Acme.test".into()),
        email_lower: Set("it@acme.test".into()),
        password_hash: Set("$argon2id$x".into()),
        is_operator: Set(false),
        must_change_password: Set(true),
        password_expires_at: Set(Some(7)),
        failed_logins: Set(0),
        locked_until: Set(Some(5)),
        created_at: Set(1),
        last_login_at: Set(None),
    }
    .insert(w)
    .await
    .unwrap();
    tenant_membership::ActiveModel {
        tenant_id: Set(tenant_id),
        admin_id: Set(admin_id),
        role: Set("admin".into()),
        created_at: Set(1),
    }
    .insert(w)
    .await
    .unwrap();
    admin_invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        email: Set("New@Acme.test".into()),
        email_lower: Set("new@acme.test".into()),
        secret_digest: Set("cd".repeat(32)),
        created_by: Set(Some(admin_id)),
        created_at: Set(1),
        expires_at: Set(2),
    }
    .insert(w)
    .await
    .unwrap();
    trusted_device::ActiveModel {
        device: Set("ef".repeat(32)),
        account_key: Set("01".repeat(32)),
        created_at: Set(1),
        expires_at: Set(3),
    }
    .insert(w)
    .await
    .unwrap();
    login_throttle::ActiveModel {
        key: Set("23".repeat(32)),
        failures: Set(4),
        window_started_at: Set(5),
        locked_until: Set(None),
        account_key: Set(Some("01".repeat(32))),
    }
    .insert(w)
    .await
    .unwrap();
    admin_session::ActiveModel {
        id: Set("ab".repeat(32)),
        admin_id: Set(admin_id),
        csrf_token: Set("csrf".into()),
        created_at: Set(1),
        last_seen_at: Set(1),
        expires_at: Set(i64::MAX),
    }
    .insert(w)
    .await
    .unwrap();
    scim_token::ActiveModel {
        id: Set(token_id),
        tenant_id: Set(tenant_id),
        public_id: Set("0123456789abcdef".into()),
        secret_hash: Set("$argon2id$y".into()),
        label: Set("Okta".into()),
        created_at: Set(1),
        created_by: Set(Some(admin_id)),
        expires_at: Set(None),
        last_used_at: Set(Some(3)),
        revoked_at: Set(None),
        domain_id: Set(None),
        kind: Set("scim".into()),
        api_scope: Set("read".into()),
    }
    .insert(w)
    .await
    .unwrap();
    user::ActiveModel {
        id: Set(user_id),
        tenant_id: Set(tenant_id),
        user_name: Set("Ada@Acme.test".into()),
        user_name_lower: Set("ada@acme.test".into()),
        external_id: Set(Some("00u1".into())),
        display_name: Set(Some("Ada".into())),
        display_name_lower: Set(Some("ada".into())),
        primary_email_lower: Set(Some("ada@acme.test".into())),
        active: Set(true),
        doc: Set("{}".into()),
        version: Set(1),
        created_at: Set(1_700_000_000_000_000),
        updated_at: Set(1_700_000_000_000_001),
        notifications: Set(None),
        hosts: Set(None),
        product_ref: Set(None),
    }
    .insert(w)
    .await
    .unwrap();
    user_email::ActiveModel {
        user_id: Set(user_id),
        position: Set(0),
        tenant_id: Set(tenant_id),
        value_lower: Set("ada@acme.test".into()),
        type_lower: Set(Some("work".into())),
        is_primary: Set(true),
    }
    .insert(w)
    .await
    .unwrap();
    group::ActiveModel {
        id: Set(group_id),
        tenant_id: Set(tenant_id),
        display_name: Set("Engineering".into()),
        display_name_lower: Set("engineering".into()),
        external_id: Set(None),
        doc: Set("{}".into()),
        version: Set(1),
        created_at: Set(1),
        updated_at: Set(1),
    }
    .insert(w)
    .await
    .unwrap();
    group_member::ActiveModel {
        group_id: Set(group_id),
        user_id: Set(user_id),
        tenant_id: Set(tenant_id),
        created_at: Set(1),
    }
    .insert(w)
    .await
    .unwrap();
    let log = provisioning_log::ActiveModel {
        tenant_id: Set(tenant_id),
        occurred_at: Set(1),
        request_id: Set("req".into()),
        token_id: Set(Some(token_id)),
        operation: Set("user.create".into()),
        resource_type: Set(Some("User".into())),
        resource_id: Set(Some(user_id.to_string())),
        outcome: Set("success".into()),
        status: Set(201),
        scim_type: Set(None),
        detail: Set(None),
        duration_us: Set(1234),
        ..Default::default()
    }
    .insert(w)
    .await
    .unwrap();
    assert!(log.id > 0);
    let event = event::ActiveModel {
        event_id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        event_type: Set("user.created".into()),
        resource_type: Set("User".into()),
        resource_id: Set(user_id),
        occurred_at: Set(1),
        payload: Set("{}".into()),
        ..Default::default()
    }
    .insert(w)
    .await
    .unwrap();
    assert!(event.id > 0);

    let r = db.reader();
    assert_eq!(tenant::Entity::find().all(r).await.unwrap()[0].slug, "acme");
    let stored_admin = &admin::Entity::find().all(r).await.unwrap()[0];
    assert_eq!(stored_admin.locked_until, Some(5));
    assert_eq!(stored_admin.tenant_id, Some(tenant_id));
    assert_eq!(stored_admin.password_expires_at, Some(7));
    assert_eq!(
        admin_invitation::Entity::find().all(r).await.unwrap()[0].created_by,
        Some(admin_id)
    );
    assert_eq!(
        trusted_device::Entity::find().all(r).await.unwrap()[0].expires_at,
        3
    );
    assert_eq!(
        login_throttle::Entity::find().all(r).await.unwrap()[0].account_key,
        Some("01".repeat(32))
    );
    assert_eq!(
        tenant_membership::Entity::find()
            .all(r)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        admin_session::Entity::find().all(r).await.unwrap()[0].expires_at,
        i64::MAX
    );
    assert_eq!(
        scim_token::Entity::find().all(r).await.unwrap()[0].created_by,
        Some(admin_id)
    );
    let stored_user = user::Entity::find_by_id(user_id)
        .one(r)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_user.updated_at, 1_700_000_000_000_001);
    assert!(stored_user.active);
    assert_eq!(
        user_email::Entity::find().all(r).await.unwrap()[0]
            .type_lower
            .as_deref(),
        Some("work")
    );
    assert_eq!(
        group::Entity::find().all(r).await.unwrap()[0].display_name,
        "Engineering"
    );
    assert_eq!(
        group_member::Entity::find().all(r).await.unwrap()[0].user_id,
        user_id
    );
    assert_eq!(
        provisioning_log::Entity::find().all(r).await.unwrap()[0].duration_us,
        1234
    );
    assert_eq!(
        event::Entity::find().all(r).await.unwrap()[0].event_type,
        "user.created"
    );

    let endpoint_id = Uuid::now_v7();
    webhook_endpoint::ActiveModel {
        id: Set(endpoint_id),
        tenant_id: Set(tenant_id),
        url: Set("https://hooks.example/x".into()),
        description: Set(String::new()),
        event_types: Set("*".into()),
        enabled: Set(true),
        secret: Set("whsec_x".into()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        created_at: Set(1),
        updated_at: Set(1),
    }
    .insert(w)
    .await
    .unwrap();
    webhook_delivery::ActiveModel {
        tenant_id: Set(tenant_id),
        endpoint_id: Set(endpoint_id),
        event_pk: Set(event.id),
        resource_id: Set(user_id),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(1),
        lease_until: Set(None),
        lease_owner: Set(None),
        last_attempt_at: Set(None),
        last_status_code: Set(Some(503)),
        last_error: Set(Some("x".into())),
        created_at: Set(1),
        finished_at: Set(None),
        ..Default::default()
    }
    .insert(w)
    .await
    .unwrap();
    assert_eq!(
        webhook_endpoint::Entity::find().all(r).await.unwrap()[0].event_types,
        "*"
    );
    assert_eq!(
        webhook_delivery::Entity::find().all(r).await.unwrap()[0].last_status_code,
        Some(503)
    );
    assert_eq!(event::Entity::find().all(r).await.unwrap()[0].seq, None);

    // Deleting the tenant removes everything it owns (foreign keys are on, on SQLite too).
    tenant::Entity::delete_by_id(tenant_id)
        .exec(w)
        .await
        .unwrap();
    assert!(user::Entity::find().all(r).await.unwrap().is_empty());
    assert!(
        group_member::Entity::find()
            .all(r)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(event::Entity::find().all(r).await.unwrap().is_empty());
    assert!(
        webhook_delivery::Entity::find()
            .all(r)
            .await
            .unwrap()
            .is_empty()
    );
}

fn user_row(tenant_id: Uuid, user_name: &str, external_id: Option<&str>) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        user_name: Set(user_name.into()),
        user_name_lower: Set(user_name.to_lowercase()),
        external_id: Set(external_id.map(Into::into)),
        display_name: Set(None),
        display_name_lower: Set(None),
        primary_email_lower: Set(None),
        active: Set(true),
        doc: Set("{}".into()),
        version: Set(1),
        created_at: Set(1),
        updated_at: Set(1),
        notifications: Set(None),
        hosts: Set(None),
        product_ref: Set(None),
    }
}

async fn insert_tenant(db: &roster_core::Database, slug: &str) -> Uuid {
    let id = Uuid::now_v7();
    tenant::ActiveModel {
        id: Set(id),
        slug: Set(slug.into()),
        name: Set(slug.into()),
        status: Set("active".into()),
        created_at: Set(1),
        updated_at: Set(1),
        rules_version: Set(0),
        scim_rate_limit: Set(None),
    }
    .insert(db.writer())
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn the_schema_enforces_per_tenant_uniqueness() {
    let test_db = TestDatabase::new().await;
    let db = test_db.migrated().await;
    let a = insert_tenant(&db, "tenant-a").await;
    let b = insert_tenant(&db, "tenant-b").await;
    let w = db.writer();

    user_row(a, "Ada@X.test", Some("ext-1"))
        .insert(w)
        .await
        .unwrap();
    // userName is unique per tenant regardless of case...
    let err = user_row(a, "ada@x.test", None).insert(w).await.unwrap_err();
    assert!(is_unique_violation(&err), "{err}");
    // ...externalId too (case-exact)...
    let err = user_row(a, "bob@x.test", Some("ext-1"))
        .insert(w)
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err), "{err}");
    user_row(a, "carol@x.test", Some("EXT-1"))
        .insert(w)
        .await
        .unwrap();
    // ...several users may have no externalId...
    user_row(a, "dan@x.test", None).insert(w).await.unwrap();
    user_row(a, "eve@x.test", None).insert(w).await.unwrap();
    // ...and another tenant may reuse both.
    user_row(b, "ADA@x.test", Some("ext-1"))
        .insert(w)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_write_transactions_do_not_fail_with_database_is_locked() {
    let test_db = TestDatabase::new().await;
    let db = test_db.migrated().await;
    let tenant_id = insert_tenant(&db, "busy").await;
    let tasks = (0..32).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            let txn = db.begin_write().await?;
            user_row(tenant_id, &format!("user{i}@x.test"), None)
                .insert(&txn)
                .await?;
            tokio::task::yield_now().await;
            txn.commit().await
        })
    });
    for result in futures_util::future::join_all(tasks).await {
        result.unwrap().unwrap();
    }
    let count = user::Entity::find().all(db.reader()).await.unwrap().len();
    assert_eq!(count, 32);
}

#[tokio::test]
async fn migrations_are_idempotent_and_reversible() {
    let test_db = TestDatabase::new().await;
    let db = test_db.migrated().await;
    db.migrate().await.unwrap();
    Migrator::down(db.writer(), None).await.unwrap();
    assert_eq!(
        db.pending_migrations().await.unwrap(),
        Migrator::migrations().len()
    );
    db.migrate().await.unwrap();
    assert_eq!(db.pending_migrations().await.unwrap(), 0);
    // A transaction on the reader is read-only on SQLite: writes must go to the writer.
    let _ = db.reader().begin().await.unwrap();
}

#[tokio::test]
async fn a_database_ahead_of_this_binary_is_accepted_during_a_rolling_upgrade() {
    use roster_migration::seaql_migrations;
    let test_db = TestDatabase::new().await;
    let db = test_db.migrated().await;
    // A newer node applied a migration this binary does not know.
    seaql_migrations::ActiveModel {
        version: Set("m29990101_000000_from_the_future".into()),
        applied_at: Set(1),
    }
    .insert(db.writer())
    .await
    .unwrap();
    db.migrate().await.unwrap();
    db.check_ready().await.unwrap();
    assert_eq!(db.pending_migrations().await.unwrap(), 0);
}

#[tokio::test]
async fn concurrent_writes_commit_together_and_fail_alone() {
    use futures_util::future::BoxFuture;
    use sea_orm::{DatabaseTransaction, DbErr, PaginatorTrait};

    let test_db = TestDatabase::new().await;
    let db = test_db.migrated().await;
    let tenant_id = insert_tenant(&db, "batch").await;
    // 40 writes at once: every third one writes a row and then fails, which must undo
    // its row and nothing else; the others must all be there once they are answered.
    let tasks = (0..40).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(
                move |txn: &DatabaseTransaction| -> BoxFuture<'_, Result<usize, DbErr>> {
                    Box::pin(async move {
                        user_row(tenant_id, &format!("user{i}@x.test"), None)
                            .insert(txn)
                            .await?;
                        if i % 3 == 0 {
                            return Err(DbErr::Custom(format!("job {i} fails")));
                        }
                        Ok(i)
                    })
                },
            )
            .await
        })
    });
    let results = futures_util::future::join_all(tasks).await;
    for (i, result) in results.into_iter().enumerate() {
        match result.unwrap() {
            Ok(n) => assert_eq!(n, i),
            Err(err) => {
                assert_eq!(i % 3, 0, "job {i} failed: {err}");
                assert!(err.to_string().contains(&format!("job {i} fails")));
            }
        }
    }
    let rows = user::Entity::find().count(db.reader()).await.unwrap();
    assert_eq!(rows, 40 - 14);
    // A unique violation inside a job is that job's error alone.
    let dup = db
        .write(
            move |txn: &DatabaseTransaction| -> BoxFuture<'_, Result<(), DbErr>> {
                Box::pin(async move {
                    user_row(tenant_id, "user1@x.test", None)
                        .insert(txn)
                        .await?;
                    Ok(())
                })
            },
        )
        .await;
    assert!(is_unique_violation(&dup.unwrap_err()));
    assert_eq!(user::Entity::find().count(db.reader()).await.unwrap(), 26);
}
