//! RFC 7644 §3.4.2.2 parser and evaluator tests.

use serde_json::json;

use super::*;
use crate::schema::{AttrType, CustomAttribute, SchemaRegistry};
use crate::{JsonObject, ScimType};

fn p(s: &str) -> Filter {
    Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn cmp(path: &str, op: CompareOp, v: CompValue) -> Filter {
    Filter::Compare {
        path: AttrPath::parse(path).unwrap(),
        op,
        value: v,
    }
}

fn s(v: &str) -> CompValue {
    CompValue::String(v.into())
}

fn err(src: &str) -> ScimError {
    let e = Filter::parse(src).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{src}");
    assert_eq!(e.status(), 400);
    e
}

#[test]
fn rfc_examples_parse() {
    // Every example filter of RFC 7644 §3.4.2.2.
    for src in [
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ] {
        let f = p(src);
        assert_eq!(p(&f.to_string()), f, "round trip of {src}");
    }
}

#[test]
fn operators_and_names_are_case_insensitive() {
    assert_eq!(
        p(r#"USERNAME EQ "x" AND Active Eq TRUE"#),
        Filter::And(
            Box::new(cmp("USERNAME", CompareOp::Eq, s("x"))),
            Box::new(cmp("Active", CompareOp::Eq, CompValue::Bool(true)))
        )
    );
    assert!(matches!(p("title PR"), Filter::Present(_)));
    assert!(matches!(p("NOT (title pr)"), Filter::Not(_)));
}

#[test]
fn precedence_not_and_or() {
    // a or b and c  ==  a or (b and c)
    let f = p("a pr or b pr and c pr");
    let Filter::Or(l, r) = &f else {
        panic!("{f:?}")
    };
    assert!(matches!(**l, Filter::Present(_)));
    assert!(matches!(**r, Filter::And(..)));
    // a and b or c  ==  (a and b) or c
    assert!(
        matches!(p("a pr and b pr or c pr"), Filter::Or(l, _) if matches!(*l, Filter::And(..)))
    );
    // not binds tighter than and
    assert!(matches!(p("not (a pr) and b pr"), Filter::And(l, _) if matches!(*l, Filter::Not(_))));
    // grouping overrides
    assert!(
        matches!(p("(a pr or b pr) and c pr"), Filter::And(l, _) if matches!(*l, Filter::Or(..)))
    );
    // left associativity, and the printer keeps explicit right grouping
    let f = p("a pr and (b pr and c pr)");
    assert_eq!(f.to_string(), "a pr and (b pr and c pr)");
    assert_eq!(
        p("a pr and b pr and c pr").to_string(),
        "a pr and b pr and c pr"
    );
}

#[test]
fn not_without_space_is_accepted() {
    assert_eq!(p("not(title pr)"), p("not (title pr)"));
}

#[test]
fn values_are_typed() {
    assert_eq!(p("a eq null"), cmp("a", CompareOp::Eq, CompValue::Null));
    assert_eq!(
        p("a eq false"),
        cmp("a", CompareOp::Eq, CompValue::Bool(false))
    );
    assert_eq!(
        p("a gt 10.5"),
        cmp(
            "a",
            CompareOp::Gt,
            CompValue::Number("10.5".parse().unwrap())
        )
    );
    assert_eq!(
        p(r#"a eq "a \"q\" \u00e9""#),
        cmp("a", CompareOp::Eq, s("a \"q\" é"))
    );
}

#[test]
fn entra_unquoted_values_are_strings() {
    assert_eq!(
        p("externalId eq 5b3f0b4e-3a3e-4b5f-9d7f-1e2f3a4b5c6d"),
        cmp(
            "externalId",
            CompareOp::Eq,
            s("5b3f0b4e-3a3e-4b5f-9d7f-1e2f3a4b5c6d")
        )
    );
    assert_eq!(
        p("userName eq someone@x.com"),
        cmp("userName", CompareOp::Eq, s("someone@x.com"))
    );
    assert_eq!(
        p("externalId eq jyoung"),
        cmp("externalId", CompareOp::Eq, s("jyoung"))
    );
    // And printed back quoted, which re-parses identically.
    assert_eq!(
        p("userName eq someone@x.com").to_string(),
        r#"userName eq "someone@x.com""#
    );
}

#[test]
fn entra_value_path_with_trailing_sub_attribute() {
    let f = p(r#"emails[type eq "work"].value eq "a@x.com""#);
    assert_eq!(f, p(r#"emails[type eq "work" and value eq "a@x.com"]"#));
}

#[test]
fn value_path_structure() {
    let f = p(r#"emails[type eq "work" and value co "@x"]"#);
    let Filter::ValuePath { path, filter } = f else {
        panic!()
    };
    assert_eq!(path, AttrPath::new("emails"));
    assert!(matches!(*filter, Filter::And(..)));
}

#[test]
fn urn_qualified_paths() {
    let f = p("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"m1\"");
    let Filter::Compare { path, .. } = &f else {
        panic!()
    };
    assert_eq!(path.name, "manager");
    assert_eq!(path.sub_attr.as_deref(), Some("value"));
    assert_eq!(p(&f.to_string()), f);
}

#[test]
fn malformed_filters_say_where_and_why() {
    let cases = [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "operator"),
        ("userName eq", "expected"),
        ("userName eq ", "value"),
        (r#"userName xx "a""#, "unknown operator 'xx'"),
        (r#"userName eq "a"#, "unterminated"),
        (r#"(userName eq "a""#, "never closed"),
        (r#"userName eq "a")"#, "unbalanced ')'"),
        (r#"userName eq "a" and"#, "position"),
        (r#"userName eq "a" xor b pr"#, "expected 'and', 'or'"),
        (r#"emails[type eq "work""#, "never closed"),
        (r#"emails[type[value pr]]"#, "nested"),
        (r#"emails[type eq "a"]]"#, "unbalanced ']'"),
        ("not title pr", "expected '('"),
        ("1abc eq 1", "attribute name"),
        (r#"name.given.x eq "a""#, "position"),
        (r#"userName eq"a""#, "space"),
        ("title prx", "operator"),
        (r#"emails[urn:x:y eq "a"]"#, "sub-attribute only"),
    ];
    for (src, why) in cases {
        let e = err(src);
        assert!(
            e.detail().contains("position") || e.detail().contains("empty"),
            "{src}: {}",
            e.detail()
        );
        assert!(
            e.detail().contains(why),
            "{src}: {} (wanted {why})",
            e.detail()
        );
    }
    // The position is a 0-based character index into the original string.
    let e = err(r#"userName eq "é" an x"#);
    assert!(e.detail().contains("at position 16"), "{}", e.detail());
}

#[test]
fn limits_on_length_and_depth() {
    let long = format!("userName eq \"{}\"", "a".repeat(5000));
    assert!(err(&long).detail().contains("limit"));
    let deep = format!("{}title pr{}", "(".repeat(40), ")".repeat(40));
    assert!(err(&deep).detail().contains("nesting"));
    let nots = format!("{}title pr{}", "not (".repeat(40), ")".repeat(40));
    assert!(err(&nots).detail().contains("nesting"));
    let ok = format!("{}title pr{}", "(".repeat(10), ")".repeat(10));
    assert!(Filter::parse(&ok).is_ok());
    let tight = FilterLimits {
        max_len: 10,
        max_depth: 1,
    };
    assert!(Filter::parse_with("title pr", tight).is_ok());
    assert!(Filter::parse_with("((title pr))", tight).is_err());
}

fn registry() -> SchemaRegistry {
    let mut level = CustomAttribute::new("level", AttrType::Integer);
    level.description = "clearance".into();
    let mut tags = CustomAttribute::new("tags", AttrType::String);
    tags.multi_valued = true;
    SchemaRegistry::new(&[
        level,
        tags,
        CustomAttribute::new("hired", AttrType::DateTime),
    ])
    .unwrap()
}

fn bjensen() -> JsonObject {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "BJ-1",
        "userName": "Bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "meta": {"resourceType": "User", "created": "2011-08-01T18:29:49.793Z",
                 "lastModified": "2011-08-01T18:29:49.793Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "manager": {"value": "26118915"}
        },
        "urn:ietf:params:scim:schemas:extension:roster:2.0:User": {
            "level": 3, "tags": ["blue", "Green"], "hired": "2020-01-01T00:00:00+02:00"
        }
    })
    .as_object()
    .unwrap()
    .clone()
}

fn check(src: &str) -> bool {
    let r = registry();
    let f = Filter::parse_for(src, r.user()).unwrap_or_else(|e| panic!("{src}: {e}"));
    f.matches(&bjensen(), r.user())
}

#[test]
fn evaluation_strings_and_case_rules() {
    assert!(check(r#"userName eq "bjensen""#)); // userName is caseExact=false
    assert!(check(r#"USERNAME EQ "BJENSEN""#));
    assert!(!check(r#"externalId eq "bj-1""#)); // externalId is caseExact
    assert!(check(r#"externalId eq "BJ-1""#));
    assert!(!check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
    assert!(check(r#"name.familyName co "ENS""#));
    assert!(check(r#"userName sw "bJ""#));
    assert!(check(r#"userName ew "SEN""#));
    assert!(check(r#"userName ne "alice""#));
    assert!(check(r#"userName gt "a" and userName lt "c""#));
    assert!(check(r#"title pr and not (nickName pr)"#));
    assert!(check(r#"nickName ne "x""#)); // absent attributes are "not equal"
    assert!(check("nickName eq null"));
    assert!(!check("userName eq null"));
    assert!(check("userName ne null"));
}

#[test]
fn evaluation_multi_valued_and_value_paths() {
    assert!(check(r#"emails co "jensen.org""#)); // complex without sub-attr → value
    assert!(check(r#"emails.value ew "example.com""#));
    assert!(check(r#"emails.type eq "home""#));
    assert!(check(r#"emails[type eq "work" and value co "@example"]"#));
    assert!(!check(r#"emails[type eq "home" and value co "@example"]"#));
    assert!(check(
        r#"emails[type eq "work"].value eq "BJENSEN@example.com""#
    ));
    assert!(check(r#"emails[not (type eq "work")]"#));
    assert!(check("emails[primary eq true]"));
    assert!(check("emails.primary eq true"));
    assert!(check("name.givenName pr"));
    assert!(!check("name.middleName pr"));
    assert!(check("name pr"));
    assert!(!check("phoneNumbers pr"));
    assert!(check(r#"tags eq "green""#));
    assert!(check(r#"tags[value eq "blue"]"#));
}

#[test]
fn evaluation_extensions_numbers_dates_booleans() {
    assert!(check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
    ));
    assert!(check(r#"employeeNumber eq 701984"#)); // number literal vs string attribute
    assert!(check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#
    ));
    assert!(check("level ge 3 and level lt 4"));
    assert!(!check("level gt 3"));
    assert!(check("level eq 3.0"));
    assert!(check(r#"meta.created gt "2011-01-01T00:00:00Z""#));
    assert!(check(r#"meta.created lt "2011-08-01T19:00:00Z""#));
    assert!(check(r#"META.LASTMODIFIED ge "2011-08-01T18:29:49.793Z""#));
    // Offsets are honoured: 2020-01-01T00:00+02:00 is 2019-12-31T22:00Z.
    assert!(check(r#"hired lt "2019-12-31T23:00:00Z""#));
    assert!(check("active eq true"));
    assert!(check(r#"active eq "True""#));
    assert!(!check("active eq false"));
    assert!(check("active ne false"));
}

#[test]
fn validation_against_schema() {
    let r = registry();
    for (src, why) in [
        (r#"nope eq "x""#, "unknown attribute"),
        (r#"name.nope eq "x""#, "unknown attribute"),
        ("active gt true", "ordering"),
        (r#"active eq "maybe""#, "true or false"),
        (r#"level eq "high""#, "number"),
        (r#"meta.created gt "yesterday""#, "dateTime"),
        (r#"name eq "x""#, "complex"),
        (r#"userName[value eq "x"]"#, "neither multi-valued"),
        (r#"emails[nope eq "x"]"#, "no sub-attribute"),
        ("userName gt null", "null"),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr"#,
            "schema",
        ),
    ] {
        let e = Filter::parse_for(src, r.user()).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
        assert!(e.detail().contains(why), "{src}: {}", e.detail());
    }
    // Groups have their own attributes.
    assert!(Filter::parse_for(r#"displayName eq "Admins""#, r.group()).is_ok());
    assert!(Filter::parse_for(r#"members[value eq "u1"]"#, r.group()).is_ok());
    assert!(Filter::parse_for(r#"userName eq "x""#, r.group()).is_err());
}

#[test]
fn unknown_paths_never_match() {
    let r = registry();
    let doc = bjensen();
    assert!(!p(r#"nope eq "x""#).matches(&doc, r.user()));
    assert!(!p("nope pr").matches(&doc, r.user()));
}
