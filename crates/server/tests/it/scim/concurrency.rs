//! Concurrent duplicates, rate limits, revocation.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use roster_entity::{scim_token, tenant, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::support::{Scim, okta_user};

#[tokio::test]
async fn concurrent_creates_of_one_user_name_give_one_201() {
    let scim = Scim::new().await;
    let attempts = (0..32).map(|_| scim.post("/Users", okta_user("same@acme.test")));
    let answers = join_all(attempts).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let conflicts = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!((created, conflicts), (1, 31), "{answers:?}");
    for answer in answers.iter().filter(|a| a.status == 409) {
        answer.assert_error(409, Some("uniqueness"));
    }
    let rows = user::Entity::find()
        .count(scim.app.services.db().reader())
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let events = scim.events().await;
    assert_eq!(events.len(), 1);
}

/// Writes committed together (SQLite's group commit sends each write as one statement)
/// fail alone: of two creates with one externalId at once, one is refused by the unique
/// index at write time and leaves nothing, while creates, updates and deletes of other
/// users in the same batches land whole.
#[tokio::test]
async fn writes_that_fail_in_a_batch_leave_nothing_and_take_nothing_with_them() {
    let scim = &Scim::new().await;
    let mut existing = Vec::new();
    for i in 0..10 {
        existing.push(scim.create_user(&format!("old{i}@acme.test")).await);
    }
    let events_before = scim.events().await.len();
    let creates = (0..20).map(|i| {
        let mut body = okta_user(&format!("new{i}@acme.test"));
        body["externalId"] = serde_json::json!(format!("pair-{}", i / 2));
        async move { scim.post("/Users", body).await }
    });
    let patches = existing[..5].iter().map(|id| async move {
        let body = super::support::patch_op(serde_json::json!([
            {"op": "replace", "path": "title", "value": "Patched"}
        ]));
        scim.patch(&format!("/Users/{id}"), body).await
    });
    let deletes = existing[5..]
        .iter()
        .map(|id| async move { scim.delete(&format!("/Users/{id}")).await });
    let (created, patched, deleted) =
        tokio::join!(join_all(creates), join_all(patches), join_all(deletes));
    for pair in created.chunks(2) {
        let mut statuses: Vec<u16> = pair.iter().map(|a| a.status.as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{pair:?}");
        let refused = pair.iter().find(|a| a.status == 409).unwrap();
        refused.assert_error(409, Some("uniqueness"));
    }
    assert!(patched.iter().all(|a| a.status == 200), "{patched:?}");
    assert!(deleted.iter().all(|a| a.status == 204), "{deleted:?}");

    let db = scim.app.services.db().reader();
    assert_eq!(user::Entity::find().count(db).await.unwrap(), 10 + 10 - 5);
    // One email per user standing: a refused create left none behind.
    assert_eq!(
        roster_entity::user_email::Entity::find()
            .count(db)
            .await
            .unwrap(),
        15
    );
    for id in &existing[..5] {
        assert_eq!(
            scim.get(&format!("/Users/{id}")).await.body["title"],
            "Patched"
        );
    }
    for answer in created.iter().filter(|a| a.status == 201) {
        let id = answer.body["id"].as_str().unwrap();
        let stored = scim.get(&format!("/Users/{id}")).await;
        assert_eq!(stored.body["userName"], answer.body["userName"]);
        assert_eq!(stored.body["emails"][0]["value"], answer.body["userName"]);
    }
    // An event per write that stood: 10 created, 5 updated, 5 deleted.
    let events = &scim.events().await[events_before..];
    let count = |kind: &str| events.iter().filter(|e| e.event_type == kind).count();
    assert_eq!(
        (
            count("user.created"),
            count("user.updated"),
            count("user.deleted")
        ),
        (10, 5, 5),
        "{events:?}"
    );
    assert_eq!(events.len(), 20);
}

#[tokio::test]
async fn a_token_over_its_rate_limit_gets_429_with_an_integer_retry_after() {
    let scim = Scim::new().await;
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::ScimRateLimit,
            sea_orm::sea_query::Expr::value(1),
        )
        .filter(tenant::Column::Slug.eq("acme"))
        .exec(scim.app.services.db().writer())
        .await
        .unwrap();
    // The first request caches the token (with its tenant's limit); a burst of ten
    // seconds of it (ROSTER_SCIM_RATE_BURST_SECS).
    let mut statuses = Vec::new();
    for _ in 0..14 {
        statuses.push(scim.get("/Users").await);
    }
    let limited = statuses.iter().find(|a| a.status == 429).expect("a 429");
    limited.assert_error(429, None);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
}

#[tokio::test]
async fn revocation_expiry_and_suspension_take_effect_within_a_second() {
    let scim = Scim::new().await;
    assert_eq!(scim.get("/Users").await.status, 200);
    let db = scim.app.services.db().writer();

    // Revoked directly in the database, as another node would: no cache survives it.
    scim_token::Entity::update_many()
        .col_expr(
            scim_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(1),
        )
        .exec(db)
        .await
        .unwrap();
    let revoked_at = Instant::now();
    loop {
        let answer = scim.get("/Users").await;
        if answer.status == 401 {
            assert_eq!(
                answer.body["detail"],
                "this token has been revoked; create a new one in Roster and paste it into Okta"
            );
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_millis(1500),
            "still accepted after revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Suspension of the tenant.
    let other = scim.tenant("other").await;
    assert_eq!(other.get("/Users").await.status, 200);
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::Status,
            sea_orm::sea_query::Expr::value("suspended"),
        )
        .filter(tenant::Column::Slug.eq("other"))
        .exec(db)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    other.get("/Users").await.assert_error(403, None);

    // Expiry.
    let third = scim.tenant("third").await;
    assert_eq!(third.get("/Users").await.status, 200);
    let tenant_row = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq("third"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    scim_token::Entity::update_many()
        .col_expr(
            scim_token::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(2),
        )
        .filter(scim_token::Column::TenantId.eq(tenant_row.id))
        .exec(db)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    third.get("/Users").await.assert_error(401, None);

    // last_used_at was recorded.
    let used = scim_token::Entity::find()
        .filter(scim_token::Column::LastUsedAt.is_not_null())
        .count(db)
        .await
        .unwrap();
    assert_eq!(used, 3);
    let _ = Set(0);
}
