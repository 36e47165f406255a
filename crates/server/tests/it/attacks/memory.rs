//! No request's memory grows with the tenant (issue 13): a real `roster` process serving
//! a tenant of 40,000 users answers the heaviest list requests a token holder can send —
//! a filter no column indexes, a sort through the attribute-value index, a scan of every
//! email element, a page at the end, a cursor walk — and its peak resident memory rises
//! by a bounded amount, not by the tenant (loading the tenant's documents, as the first
//! round did, took hundreds of MB at 100,000 users).

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::binary::{Node, cli_tenant_with_token};
use crate::scim::support::{encode, insert_users};

/// `VmRSS` or `VmHWM` of a process, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// How much the node's peak may rise over its resident memory before the requests.
const BOUND_MIB: u64 = 48;

#[tokio::test]
async fn heavy_lists_on_a_tenant_of_40_000_users_stay_within_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = roster_testkit::TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "large").await;
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let tenant = roster_entity::tenant::Entity::find()
        .filter(roster_entity::tenant::Column::Slug.eq("large"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    insert_users(&db, tenant.id, "u", 40_000).await;
    db.close().await.unwrap();

    // The node indexes the users as it starts, in bounded batches — a debug build on a
    // busy CI machine may take minutes for 40,000.
    let node = Node::start_within(dir.path(), &url, &[], Duration::from_secs(600)).await;
    let pid = node.pid();
    let client = roster_testkit::http_client();
    let base = format!("http://127.0.0.1:{}/scim/v2/large", node.port);
    let get = |path: String| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let response = client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    // Warm up (the first request of a tenant loads its rules), then measure from here:
    // writing 5 to clear_refs resets the peak to the current resident set.
    get("/Users?count=1".into()).await;
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = status_kib(pid, "VmRSS:");

    let heavy = [
        format!("/Users?count=200&filter={}", encode("title pr")),
        format!("/Users?count=200&filter={}", encode("name.givenName pr")),
        format!(
            "/Users?count=200&filter={}",
            encode("displayName co \"User 3\"")
        ),
        format!(
            "/Users?count=200&filter={}",
            encode("emails[type eq \"work\" and value ew \"@big.test\"]")
        ),
        "/Users?count=200&sortBy=name.familyName&sortOrder=descending".to_owned(),
        "/Users?count=200&startIndex=39801".to_owned(),
        format!(
            "/Users?count=200&filter={}",
            encode("name.familyName eq \"Family39999\"")
        ),
    ];
    for _ in 0..2 {
        for path in &heavy {
            get(path.clone()).await;
        }
    }
    // The walk of a sort counts the tenant's users once and reports that count as the
    // first page's total.
    let sorted = get("/Users?count=200&sortBy=name.familyName&sortOrder=descending".into()).await;
    assert_eq!(sorted["totalResults"], 40_000, "{sorted}");
    assert_eq!(
        sorted["Resources"][0]["name"]["familyName"], "Family9999",
        "{sorted}"
    );
    // A cursor walk of 20 pages of 200 through a sort on an indexed attribute.
    let mut page = get("/Users?cursor&count=200&sortBy=userName".into()).await;
    for _ in 0..20 {
        let next = page["nextCursor"].as_str().unwrap().to_owned();
        page = get(format!(
            "/Users?cursor={}&count=200&sortBy=userName",
            encode(&next)
        ))
        .await;
    }
    let total = page["totalResults"].as_u64().unwrap();
    assert_eq!(total, 40_000);

    let peak = status_kib(pid, "VmHWM:");
    let risen_mib = peak.saturating_sub(before) / 1024;
    println!(
        "node RSS before {} MiB, peak after {} MiB",
        before / 1024,
        peak / 1024
    );
    assert!(
        risen_mib <= BOUND_MIB,
        "the node's peak rose by {risen_mib} MiB (bound {BOUND_MIB} MiB) serving lists of a \
         40,000-user tenant"
    );
    node.stop().await;
}
