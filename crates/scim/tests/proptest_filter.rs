//! Property tests for the filter parser: printing then parsing any AST gives
//! it back, and no input makes the parser or the evaluator panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use roster_scim::schema::SchemaRegistry;
use roster_scim::{AttrPath, CompValue, CompareOp, Filter, FilterLimits, JsonObject};
use serde_json::json;

const URNS: [&str; 3] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:example:custom",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        // Names the schema knows, in random case.
        prop::sample::select(vec![
            "userName",
            "emails",
            "name",
            "active",
            "meta",
            "id",
            "externalId",
            "type",
            "value"
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z$][a-zA-Z0-9_$-]{0,8}",
    ]
    .prop_filter("keyword", |n| !n.eq_ignore_ascii_case("not"))
}

fn attr_path(allow_qualified: bool) -> impl Strategy<Value = AttrPath> {
    let urn = if allow_qualified {
        prop::option::of(prop::sample::select(URNS.to_vec())).boxed()
    } else {
        Just(None).boxed()
    };
    let sub = if allow_qualified {
        prop::option::of(name()).boxed()
    } else {
        Just(None).boxed()
    };
    (urn, name(), sub).prop_map(|(urn, name, sub_attr)| AttrPath {
        urn: urn.map(str::to_owned),
        name,
        sub_attr,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
        "[a-z@.]{0,12}".prop_map(CompValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn leaf(qualified: bool) -> BoxedStrategy<Filter> {
    prop_oneof![
        (attr_path(qualified), op(), comp_value()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value
        }),
        attr_path(qualified).prop_map(Filter::Present),
    ]
    .boxed()
}

fn combine(inner: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        inner.prop_map(|a| Filter::Not(Box::new(a))),
    ]
    .boxed()
}

/// A filter for inside `[...]`: sub-attribute names only, no nesting.
fn value_filter() -> BoxedStrategy<Filter> {
    leaf(false).prop_recursive(3, 12, 2, combine).boxed()
}

fn filter() -> BoxedStrategy<Filter> {
    let value_path = (name(), value_filter()).prop_map(|(n, f)| Filter::ValuePath {
        path: AttrPath::new(n),
        filter: Box::new(f),
    });
    prop_oneof![3 => leaf(true), 1 => value_path]
        .boxed()
        .prop_recursive(4, 24, 2, combine)
        .boxed()
}

fn resource() -> JsonObject {
    json!({
        "id": "1", "userName": "Bjensen", "externalId": "x", "active": true,
        "name": {"givenName": "B", "familyName": "J"},
        "emails": [{"value": "a@x.com", "type": "work", "primary": true}, {"value": "b@y.org"}],
        "meta": {"created": "2020-01-01T00:00:00Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}
    })
    .as_object()
    .unwrap()
    .clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_round_trips(f in filter()) {
        let printed = f.to_string();
        let limits = FilterLimits { max_len: usize::MAX, max_depth: 64 };
        let parsed = Filter::parse_with(&printed, limits)
            .unwrap_or_else(|e| panic!("{printed:?} did not parse: {e}"));
        prop_assert_eq!(&parsed, &f, "printed as {}", printed);
        // The canonical form is a fixed point.
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn evaluation_never_panics(f in filter()) {
        let r = SchemaRegistry::standard();
        let _ = f.matches(&resource(), r.user());
        let _ = roster_scim::filter::validate(&f, r.user());
        let _ = f.matches(&resource(), r.group());
    }

    #[test]
    fn parser_never_panics_on_arbitrary_input(s in any::<String>()) {
        let _ = Filter::parse(&s);
    }

    #[test]
    fn parser_never_panics_on_filter_like_input(
        s in r#"[ a-zA-Z0-9_.:$\[\]()"\\-]{0,80}"#
    ) {
        if let Err(e) = Filter::parse(&s) {
            prop_assert_eq!(e.scim_type(), Some(roster_scim::ScimType::InvalidFilter));
            prop_assert!(e.detail().contains("position") || e.detail().contains("empty"), "{}", e.detail());
        }
    }

    #[test]
    fn mutated_valid_filters_never_panic(f in filter(), cut in any::<prop::sample::Index>(), junk in "[()\\[\\]\" ]{0,3}") {
        let mut s = f.to_string();
        let mut at = cut.index(s.len() + 1);
        while !s.is_char_boundary(at) { at -= 1; }
        s.insert_str(at, &junk);
        let _ = Filter::parse(&s);
    }
}
