//! Big groups: members are rows.

use roster_entity::{group_member, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::support::{Scim, patch_op};

#[tokio::test]
async fn one_member_of_a_50000_member_group_is_one_row() {
    let scim = Scim::new().await;
    let group = scim.create_group("Everyone").await;
    let group_id = Uuid::parse_str(&group).unwrap();
    let tenant_id = roster_entity::tenant::Entity::find()
        .one(scim.app.services.db().reader())
        .await
        .unwrap()
        .unwrap()
        .id;
    let db = scim.app.services.db().writer();
    // Seed 50,000 users and memberships directly: the subject is the PATCH, not the seeding.
    let ids: Vec<Uuid> = (0..50_000).map(|_| Uuid::now_v7()).collect();
    for chunk in ids.chunks(2000) {
        user::Entity::insert_many(chunk.iter().enumerate().map(|(i, id)| user::ActiveModel {
            id: Set(*id),
            tenant_id: Set(tenant_id),
            user_name: Set(format!("{id}@big.test")),
            user_name_lower: Set(format!("{id}@big.test")),
            external_id: Set(None),
            display_name: Set(Some(format!("User {i}"))),
            display_name_lower: Set(Some(format!("user {i}"))),
            primary_email_lower: Set(None),
            active: Set(true),
            doc: Set(json!({"userName": format!("{id}@big.test"), "active": true}).to_string()),
            version: Set(1),
            created_at: Set(1),
            updated_at: Set(1),
            notifications: Set(None),
            hosts: Set(None),
            product_ref: Set(None),
        }))
        .exec_without_returning(db)
        .await
        .unwrap();
        group_member::Entity::insert_many(chunk.iter().map(|id| group_member::ActiveModel {
            group_id: Set(group_id),
            user_id: Set(*id),
            tenant_id: Set(tenant_id),
            created_at: Set(1),
        }))
        .exec_without_returning(db)
        .await
        .unwrap();
    }
    let newcomer = scim.create_user("new@acme.test").await;
    let events_before = scim.events().await.len();

    let add = scim
        .patch(
            &format!("/Groups/{group}"),
            patch_op(json!([{"op": "add", "path": "members", "value": [{"value": newcomer}]}])),
        )
        .await;
    assert_eq!(add.status, 204, "{add:?}");
    let members = group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(group_id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(members, 50_001);
    let remove = scim
        .patch(
            &format!("/Groups/{group}"),
            patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[123])}]),
            ),
        )
        .await;
    assert_eq!(remove.status, 204, "{remove:?}");
    let members = group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(group_id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(members, 50_000);
    assert_eq!(
        scim.events().await.len(),
        events_before + 2,
        "one event per member changed"
    );

    // The group without its members is small and quick to read.
    let lean = scim
        .get(&format!("/Groups/{group}?excludedAttributes=members"))
        .await;
    assert!(lean.body.get("members").is_none());
    assert!(lean.body.to_string().len() < 1000);
    let list = scim.get("/Groups?excludedAttributes=members").await;
    assert_eq!(list.body["totalResults"], 1);
}
