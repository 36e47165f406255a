//! Hot paths of the engine: a request filters, patches, parses or renders
//! once, so each must cost microseconds.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-scim cargo bench -p roster-scim --bench engine`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use roster_scim::patch::{PatchRequest, apply_patch};
use roster_scim::projection::Projection;
use roster_scim::resource::{StoredResource, parse_user, render};
use roster_scim::schema::{AttrType, CustomAttribute, SchemaRegistry};
use roster_scim::{Filter, JsonObject};
use serde_json::{Value, json};
use time::macros::datetime;

const E: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn registry() -> SchemaRegistry {
    SchemaRegistry::new(&[
        CustomAttribute::new("badgeNumber", AttrType::Integer),
        CustomAttribute::new("floor", AttrType::String),
    ])
    .unwrap()
}

/// What Okta POSTs, with an enterprise extension: a typical user.
fn user_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", E],
        "userName": "isaac.brock@example.com",
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": true, "value": "isaac.brock@example.com", "type": "work"}],
        "displayName": "Isaac Brock", "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7", "groups": [], "password": "1mz050nq", "active": true,
        E: {"employeeNumber": "4242", "department": "Engineering", "manager": {"value": "m-1"}}
    })
}

fn benches(c: &mut Criterion) {
    let reg = registry();
    let users = reg.user();
    let doc: JsonObject = parse_user(users, &user_body()).unwrap().document;

    let entra_filter = r#"emails[type eq "work"].value eq "isaac.brock@example.com""#;
    let complex_filter = r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org") and not (title pr) and meta.lastModified gt "2011-05-13T04:42:34Z""#;
    c.bench_function("filter_parse/okta_username_eq", |b| {
        b.iter(|| Filter::parse(black_box(r#"userName eq "isaac.brock@example.com""#)).unwrap())
    });
    c.bench_function("filter_parse/entra_value_path", |b| {
        b.iter(|| Filter::parse(black_box(entra_filter)).unwrap())
    });
    c.bench_function("filter_parse/rfc_complex", |b| {
        b.iter(|| Filter::parse(black_box(complex_filter)).unwrap())
    });

    let mut resource = doc.clone();
    resource.insert("id".into(), json!("23a35c27"));
    resource.insert(
        "meta".into(),
        json!({"lastModified": "2024-05-01T00:00:00Z"}),
    );
    let f1 = Filter::parse(r#"userName eq "ISAAC.BROCK@example.com""#).unwrap();
    let f2 = Filter::parse(entra_filter).unwrap();
    let f3 = Filter::parse(complex_filter).unwrap();
    c.bench_function("filter_eval/username_eq_ci", |b| {
        b.iter(|| black_box(&f1).matches(black_box(&resource), users))
    });
    c.bench_function("filter_eval/entra_value_path", |b| {
        b.iter(|| black_box(&f2).matches(black_box(&resource), users))
    });
    c.bench_function("filter_eval/rfc_complex", |b| {
        b.iter(|| black_box(&f3).matches(black_box(&resource), users))
    });

    let okta_body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let entra_body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated@example.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Updated"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m-2"}
    ]});
    let okta = PatchRequest::parse(&okta_body).unwrap();
    let entra = PatchRequest::parse(&entra_body).unwrap();
    c.bench_function("patch/parse+apply_okta_deactivate", |b| {
        b.iter(|| {
            let req = PatchRequest::parse(black_box(&okta_body)).unwrap();
            apply_patch(users, "23a35c27", black_box(&doc), &req).unwrap()
        })
    });
    c.bench_function("patch/apply_okta_deactivate", |b| {
        b.iter(|| apply_patch(users, "23a35c27", black_box(&doc), &okta).unwrap())
    });
    c.bench_function("patch/apply_entra_3_ops", |b| {
        b.iter(|| apply_patch(users, "23a35c27", black_box(&doc), &entra).unwrap())
    });

    let body = user_body();
    let body_text = serde_json::to_string(&body).unwrap();
    c.bench_function("user/parse_validate", |b| {
        b.iter(|| parse_user(users, black_box(&body)).unwrap())
    });
    c.bench_function("user/from_bytes_parse_validate", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(black_box(&body_text)).unwrap();
            parse_user(users, &v).unwrap()
        })
    });

    let stored = StoredResource {
        id: "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        document: &doc,
        created: datetime!(2024-01-01 0:00 UTC),
        last_modified: datetime!(2024-05-01 12:30 UTC),
        version: "17",
        members: None,
    };
    let all = Projection::all();
    let some =
        Projection::parse(users, Some("userName,name.givenName,emails.value"), None).unwrap();
    let base = "https://roster.example.com/scim/v2/acme";
    c.bench_function("user/render_full", |b| {
        b.iter(|| render(users, base, black_box(&stored), &all))
    });
    c.bench_function("user/render_projected", |b| {
        b.iter(|| render(users, base, black_box(&stored), &some))
    });
    c.bench_function("user/render_full_to_json_string", |b| {
        b.iter(|| serde_json::to_string(&render(users, base, black_box(&stored), &all)).unwrap())
    });
}

criterion_group! {
    name = engine;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = benches
}
criterion_main!(engine);
