//! Snapshots of the discovery documents (RFC 7644 §4) for a tenant with a
//! custom extension. Review changes to these files like code: they are what
//! Okta and Entra read to learn what Roster supports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use roster_scim::bulk::BulkLimits;
use roster_scim::discovery::{self, Capabilities};
use roster_scim::schema::{
    AttrType, CustomAttribute, Mutability, Returned, SchemaRegistry, Uniqueness,
};

const BASE: &str = "https://roster.example.com/scim/v2/acme";

fn tenant_registry() -> SchemaRegistry {
    let mut badge = CustomAttribute::new("badgeNumber", AttrType::Integer);
    badge.description = "Door badge number.".into();
    badge.uniqueness = Uniqueness::Server;
    let mut tier = CustomAttribute::new("tier", AttrType::String);
    tier.description = "Support tier.".into();
    tier.canonical_values = vec!["gold".into(), "silver".into()];
    tier.required = true;
    let mut hired = CustomAttribute::new("hiredAt", AttrType::DateTime);
    hired.mutability = Mutability::Immutable;
    hired.returned = Returned::Request;
    let mut desk = CustomAttribute::new("desk", AttrType::Complex);
    desk.multi_valued = true;
    desk.sub_attributes = vec![
        CustomAttribute::new("building", AttrType::String),
        CustomAttribute::new("seat", AttrType::String),
        CustomAttribute::new("standing", AttrType::Boolean),
    ];
    SchemaRegistry::new(&[badge, tier, hired, desk]).unwrap()
}

#[test]
fn service_provider_config() {
    let caps = Capabilities {
        documentation_uri: Some("https://roster.example.com/help/scim".into()),
        bulk: Some(BulkLimits {
            max_operations: 100,
            max_payload_size: 1_048_576,
        }),
        filter_max_results: Some(200),
        ..Capabilities::default()
    };
    insta::assert_json_snapshot!(discovery::service_provider_config(&caps, BASE));
}

#[test]
fn resource_types() {
    insta::assert_json_snapshot!(discovery::resource_types(&tenant_registry(), BASE));
}

#[test]
fn resource_type_group() {
    insta::assert_json_snapshot!(
        discovery::resource_type(&tenant_registry(), BASE, "Group").unwrap()
    );
}

#[test]
fn schemas() {
    insta::assert_json_snapshot!(discovery::schemas(&tenant_registry(), BASE));
}

#[test]
fn schema_enterprise_user() {
    let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    insta::assert_json_snapshot!(discovery::schema(&tenant_registry(), BASE, urn).unwrap());
}
