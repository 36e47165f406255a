//! RFC 7644 §3.7 bulk tests.

use serde_json::json;

use super::*;

const LIMITS: BulkLimits = BulkLimits {
    max_operations: 10,
    max_payload_size: 1_048_576,
};

fn rfc_example() -> Value {
    // RFC 7644 §3.7.2: a group created before the users it references.
    json!({
        "schemas": [BULK_REQUEST_URN],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Tour Guides",
                "members": [{"type": "User", "value": "bulkId:qwerty"}]
            }},
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Alice"
            }},
            {"method": "PATCH", "path": "/Groups/bulkId:ytrewq", "version": "W/\"1\"", "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": "members"}]
            }},
            {"method": "DELETE", "path": "/Users/b7c14771-226c-4d05-8860-134711653041"}
        ]
    })
}

#[test]
fn parses_and_orders_by_references() {
    let body = rfc_example();
    let req = BulkRequest::parse(&body, 500, LIMITS).unwrap();
    assert_eq!(req.operations.len(), 4);
    assert_eq!(req.operations[0].kind, ResourceKind::Group);
    assert_eq!(req.operations[2].id.as_deref(), Some("bulkId:ytrewq"));
    assert_eq!(req.operations[2].version.as_deref(), Some("W/\"1\""));
    let plan = req.plan();
    assert!(plan.failures.is_empty());
    assert_eq!(plan.order, [1, 0, 2, 3]);
    assert_eq!(
        bulk_id_refs(req.operations[0].data.as_ref().unwrap()),
        ["qwerty"]
    );
}

#[test]
fn substitution() {
    let req = BulkRequest::parse(&rfc_example(), 500, LIMITS).unwrap();
    let mut ids = BulkIdMap::new();
    let mut data = req.operations[0].data.clone().unwrap();
    let e = substitute_bulk_ids(&mut data, &ids).unwrap_err();
    assert_eq!(
        (e.status(), e.scim_type()),
        (409, Some(ScimType::InvalidValue))
    );
    assert_eq!(data["members"][0]["value"], "bulkId:qwerty");
    ids.insert("qwerty".into(), "u-92b7".into());
    substitute_bulk_ids(&mut data, &ids).unwrap();
    assert_eq!(data["members"][0]["value"], "u-92b7");
    ids.insert("ytrewq".into(), "g-1".into());
    assert_eq!(
        substitute_bulk_id_in_path("/Groups/bulkId:ytrewq", &ids).unwrap(),
        "/Groups/g-1"
    );
    assert_eq!(
        substitute_bulk_id_in_path("/Users/x", &ids).unwrap(),
        "/Users/x"
    );
    assert!(substitute_bulk_id_in_path("/Users/bulkId:nope", &ids).is_err());
}

#[test]
fn circular_and_unresolved_references() {
    let body = json!({"schemas": [BULK_REQUEST_URN], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c", "x": "bulkId:zzz"}},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"userName": "d"}}
    ]});
    let plan = BulkRequest::parse(&body, 10, LIMITS).unwrap().plan();
    assert_eq!(plan.order, [3]);
    let failed: Vec<(usize, u16)> = plan
        .failures
        .iter()
        .map(|(i, e)| (*i, e.status()))
        .collect();
    assert_eq!(failed, [(0, 409), (1, 409), (2, 409)]);
    assert!(plan.failures[2].1.detail().contains("zzz"));
}

#[test]
fn limits_and_validation() {
    let e = BulkRequest::parse(&rfc_example(), 2_000_000, LIMITS).unwrap_err();
    assert_eq!(e.status(), 413);
    assert!(e.detail().contains("maxPayloadSize (1048576)"));
    let many: Vec<Value> = (0..11)
        .map(|_| json!({"method": "DELETE", "path": "/Users/x"}))
        .collect();
    let e = BulkRequest::parse(&json!({"Operations": many}), 10, LIMITS).unwrap_err();
    assert_eq!(e.status(), 413);
    for (op, t) in [
        (
            json!({"method": "GET", "path": "/Users"}),
            ScimType::InvalidSyntax,
        ),
        (
            json!({"method": "POST", "path": "/Users", "data": {}}),
            ScimType::InvalidSyntax,
        ),
        (
            json!({"method": "POST", "path": "/Users/x", "bulkId": "q", "data": {}}),
            ScimType::InvalidPath,
        ),
        (
            json!({"method": "PUT", "path": "/Users", "data": {}}),
            ScimType::InvalidPath,
        ),
        (
            json!({"method": "PATCH", "path": "/Users/x"}),
            ScimType::InvalidSyntax,
        ),
        (
            json!({"method": "DELETE", "path": "/Widgets/x"}),
            ScimType::InvalidPath,
        ),
        (json!({"method": "DELETE"}), ScimType::InvalidSyntax),
        (json!("x"), ScimType::InvalidSyntax),
    ] {
        let e = BulkRequest::parse(&json!({"Operations": [op.clone()]}), 10, LIMITS).unwrap_err();
        assert_eq!(e.scim_type(), Some(t), "{op}: {e}");
        assert!(e.detail().starts_with("Operations[0]"));
    }
    let dup = json!({"Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "q", "data": {}},
        {"method": "POST", "path": "/Users", "bulkId": "q", "data": {}}
    ]});
    assert!(BulkRequest::parse(&dup, 10, LIMITS).is_err());
    assert!(
        BulkRequest::parse(&json!({"schemas": ["urn:x"], "Operations": []}), 10, LIMITS).is_err()
    );
    assert!(BulkRequest::parse(&json!({"failOnErrors": 0, "Operations": []}), 10, LIMITS).is_err());
    let r = BulkRequest::parse(&json!({"failOnErrors": 2, "Operations": []}), 10, LIMITS).unwrap();
    assert_eq!(r.fail_on_errors, Some(2));
    assert!(!should_stop(r.fail_on_errors, 1));
    assert!(should_stop(r.fail_on_errors, 2));
    assert!(!should_stop(None, 100));
}

#[test]
fn response_shape() {
    let req = BulkRequest::parse(&rfc_example(), 10, LIMITS).unwrap();
    let resp = BulkResponse {
        operations: vec![
            BulkOperationResult {
                method: BulkMethod::Post,
                bulk_id: Some("qwerty".into()),
                version: Some("W/\"oY4m4wn58tkVjJxK\"".into()),
                location: Some("https://example.com/v2/Users/92b725cd".into()),
                status: 201,
                response: None,
            },
            BulkOperationResult::failed(
                &req.operations[3],
                &ScimError::not_found("Resource does not exist"),
            ),
        ],
    };
    assert_eq!(
        resp.to_json(),
        json!({"schemas": [BULK_RESPONSE_URN], "Operations": [
            {"method": "POST", "bulkId": "qwerty", "version": "W/\"oY4m4wn58tkVjJxK\"",
             "location": "https://example.com/v2/Users/92b725cd", "status": "201"},
            {"method": "DELETE", "status": "404", "response": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "404", "detail": "Resource does not exist"}}
        ]})
    );
}

#[test]
fn references_are_counted_once_and_unknown_ones_fail_the_operation() {
    let many: Vec<serde_json::Value> = (0..20_000)
        .map(|i| json!(format!("bulkId:r{}", i % 7)))
        .chain(std::iter::once(json!("bulkId:u")))
        .collect();
    let body = json!({"Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "a"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "g", "members": many}},
        {"method": "POST", "path": "/Groups", "bulkId": "h", "data": {"displayName": "h", "members": [{"value": "bulkId:u"}, {"value": "bulkId:u"}]}}
    ]});
    let request = BulkRequest::parse(&body, 10, LIMITS).unwrap();
    assert_eq!(
        bulk_id_refs(&request.operations[2].data.clone().unwrap()),
        vec!["u"]
    );
    let plan = request.plan();
    assert_eq!(plan.order, vec![0, 2]);
    assert_eq!(plan.failures.len(), 1);
    assert_eq!(plan.failures[0].0, 1);
    assert!(
        plan.failures[0].1.detail().contains("\"r0\""),
        "{}",
        plan.failures[0].1.detail()
    );
}
