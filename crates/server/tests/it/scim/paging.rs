//! Paging: cursors (RFC 9865) and `startIndex` pages that seek from where the previous
//! page ended — every user once, in order, while users come and go between pages.

use base64::Engine;
use serde_json::{Value, json};

use crate::scim::support::{Answer, Scim, encode};

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {answer:?}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn names(answer: &Answer) -> Vec<String> {
    answer.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

fn cursor(answer: &Answer, which: &str) -> Option<String> {
    answer.body[which].as_str().map(str::to_owned)
}

#[tokio::test]
async fn cursors_walk_forward_and_back_and_are_advertised() {
    let scim = Scim::new().await;
    let mut all: Vec<String> = scim
        .seed_users("c", 25)
        .await
        .iter()
        .map(ToString::to_string)
        .collect();
    all.sort();

    let spc = scim.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["pagination"]["cursor"], true, "{spc:?}");
    assert_eq!(spc.body["pagination"]["index"], true);
    assert_eq!(spc.body["pagination"]["defaultPaginationMethod"], "index");
    assert_eq!(spc.body["pagination"]["maxPageSize"], 200);

    let first = scim.get("/Users?cursor&count=10").await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["totalResults"], 25);
    assert_eq!(first.body["itemsPerPage"], 10);
    assert!(first.body.get("startIndex").is_none(), "{first:?}");
    assert!(cursor(&first, "previousCursor").is_none());
    let next = cursor(&first, "nextCursor").expect("a next page");
    assert!(
        next.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)),
        "unreserved characters only: {next}"
    );

    let second = scim
        .get(&format!("/Users?cursor={}&count=10", encode(&next)))
        .await;
    let third = scim
        .get(&format!(
            "/Users?cursor={}&count=10",
            encode(&cursor(&second, "nextCursor").unwrap())
        ))
        .await;
    assert_eq!(ids(&third).len(), 5);
    assert!(cursor(&third, "nextCursor").is_none(), "the last page");
    let walked: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|a| ids(a))
        .collect();
    assert_eq!(walked, all, "every user once, in id order");

    // Back from the last page: the second again; from there, the first.
    let back = scim
        .get(&format!(
            "/Users?cursor={}&count=10",
            encode(&cursor(&third, "previousCursor").unwrap())
        ))
        .await;
    assert_eq!(ids(&back), ids(&second));
    let front = scim
        .get(&format!(
            "/Users?cursor={}&count=10",
            encode(&cursor(&back, "previousCursor").unwrap())
        ))
        .await;
    assert_eq!(ids(&front), ids(&first));
    assert!(cursor(&front, "previousCursor").is_none(), "{front:?}");

    // The same through POST /.search.
    let searched = scim
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "cursor": next, "count": 10}),
        )
        .await;
    assert_eq!(ids(&searched), ids(&second), "{searched:?}");
}

#[tokio::test]
async fn a_cursor_keeps_its_place_while_users_come_and_go() {
    let scim = Scim::new().await;
    scim.seed_users("k", 30).await;
    let query = format!(
        "filter={}&sortBy=userName&sortOrder=descending&count=10&attributes=userName",
        encode("userName sw \"k\"")
    );
    let first = scim.get(&format!("/Users?cursor=&{query}")).await;
    assert_eq!(first.status, 200, "{first:?}");
    let seen = names(&first);
    // Descending by userName: k9, k8, …, k29, k28, …
    assert_eq!(seen[0], "k9@big.test");

    // Between pages: the first page's last user leaves, and a user who sorts into the
    // first page arrives. Neither makes the second page skip or repeat anyone.
    let last_id = ids(&first)[9].clone();
    assert_eq!(scim.delete(&format!("/Users/{last_id}")).await.status, 204);
    scim.create_user("k99@big.test").await;
    let second = scim
        .get(&format!(
            "/Users?cursor={}&{query}",
            encode(&cursor(&first, "nextCursor").unwrap())
        ))
        .await;
    let mut expected: Vec<String> = (0..30).map(|i| format!("k{i}@big.test")).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(names(&second), expected[10..20], "{second:?}");
}

#[tokio::test]
async fn foreign_and_forged_cursors_are_refused() {
    let scim = Scim::new().await;
    scim.seed_users("f", 5).await;
    let page = scim.get("/Users?cursor&count=2").await;
    let next = cursor(&page, "nextCursor").unwrap();

    for (path, scim_type) in [
        (
            "/Users?cursor=bm90LWEtY3Vyc29y&count=2".to_owned(),
            "invalidCursor",
        ),
        (
            format!(
                "/Users?cursor={}&count=2&filter={}",
                encode(&next),
                encode("userName pr")
            ),
            "invalidCursor",
        ),
        (
            format!("/Users?cursor={}&count=2&sortBy=userName", encode(&next)),
            "invalidCursor",
        ),
        (
            format!("/Groups?cursor={}&count=2", encode(&next)),
            "invalidCursor",
        ),
        (
            format!("/Users?cursor={}&startIndex=3", encode(&next)),
            "invalidValue",
        ),
        (
            format!("/Users?cursor={}", "A".repeat(3000)),
            "invalidCursor",
        ),
    ] {
        let answer = scim.get(&path).await;
        answer.assert_error(400, Some(scim_type));
    }
    // A cursor edited by the client: a boundary of the wrong type is refused (not a
    // 500 from comparing an id with text); one of the right type only moves the client
    // within its own list.
    let mut edited: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&next)
            .unwrap(),
    )
    .unwrap();
    edited["b"]["k"] = json!({"t": "s", "v": "x"});
    scim.get(&format!(
        "/Users?cursor={}&count=2",
        base64_json(edited.clone())
    ))
    .await
    .assert_error(400, Some("invalidCursor"));
    edited["b"]["k"] = json!({"t": "u", "v": uuid::Uuid::nil()});
    let moved = scim
        .get(&format!("/Users?cursor={}&count=2", base64_json(edited)))
        .await;
    assert_eq!(moved.status, 200, "{moved:?}");

    // Another tenant's token with this tenant's cursor: refused (the cursor names the
    // tenant it was issued for), and it could only ever read the other tenant's rows.
    let other = scim.tenant("other").await;
    other
        .get(&format!("/Users?cursor={}&count=2", encode(&next)))
        .await
        .assert_error(400, Some("invalidCursor"));
    // The root search pages with startIndex only.
    scim.post(
        "/.search",
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": ""}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

fn base64_json(value: Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn start_index_pages_seek_from_where_the_previous_page_ended() {
    let scim = Scim::new().await;
    let mut all: Vec<String> = scim
        .seed_users("s", 35)
        .await
        .iter()
        .map(ToString::to_string)
        .collect();
    all.sort();
    let provisioning = scim.app.services.provisioning();
    let before = provisioning.seeked_pages();

    // An import as Okta runs it: startIndex 1, 11, 21, 31 with count 10.
    let mut walked = Vec::new();
    let mut totals = Vec::new();
    for start in [1, 11, 21, 31] {
        let page = scim
            .get(&format!("/Users?startIndex={start}&count=10"))
            .await;
        assert_eq!(page.body["startIndex"], start, "{page:?}");
        totals.push(page.body["totalResults"].as_u64().unwrap());
        walked.extend(ids(&page));
    }
    assert_eq!(walked, all);
    assert_eq!(totals, [35, 35, 35, 35]);
    assert_eq!(
        provisioning.seeked_pages() - before,
        3,
        "pages 2–4 seek from where the one before ended"
    );

    // A user of the first page leaves between pages: the next page still starts right
    // after the last user the client saw (OFFSET would skip one).
    let first = scim.get("/Users?startIndex=1&count=10").await;
    assert_eq!(
        scim.delete(&format!("/Users/{}", ids(&first)[0]))
            .await
            .status,
        204
    );
    let second = scim.get("/Users?startIndex=11&count=10").await;
    assert_eq!(ids(&second), all[10..20], "no user skipped");

    // A jump with no page before it is OFFSET, and right.
    let jump = scim.get("/Users?startIndex=30&count=3").await;
    assert_eq!(ids(&jump), all[30..33]);
    assert_eq!(jump.body["totalResults"], 34);
}

#[tokio::test]
async fn a_list_evaluated_in_memory_pages_with_cursors_too() {
    let scim = Scim::new().await;
    let group = scim.create_group("Crew").await;
    let mut members = Vec::new();
    for i in 0..7 {
        members.push(scim.create_user(&format!("m{i}@crew.test")).await);
    }
    scim.create_user("outsider@crew.test").await;
    let value: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    let added = scim
        .patch(
            &format!("/Groups/{group}"),
            crate::scim::support::patch_op(
                json!([{"op": "add", "path": "members", "value": value}]),
            ),
        )
        .await;
    assert_eq!(added.status, 204, "{added:?}");
    let before = scim.app.services.provisioning().in_memory_evaluations();
    let query = format!("filter={}&count=3", encode("groups.display eq \"Crew\""));
    let mut walked = Vec::new();
    let mut page = scim.get(&format!("/Users?cursor&{query}")).await;
    loop {
        assert_eq!(page.body["totalResults"], 7, "{page:?}");
        walked.extend(ids(&page));
        match cursor(&page, "nextCursor") {
            Some(next) => {
                page = scim
                    .get(&format!("/Users?cursor={}&{query}", encode(&next)))
                    .await;
            }
            None => break,
        }
    }
    members.sort();
    walked.sort();
    assert_eq!(walked, members);
    assert!(scim.app.services.provisioning().in_memory_evaluations() > before);
}

#[tokio::test]
async fn cursor_and_start_index_walks_agree_with_one_big_page_where_values_are_missing() {
    let scim = Scim::new().await;
    // A third of the users have a title (a sort through the attribute-value index with
    // NULL keys), a few share one (ties broken by id), and displayName is a nullable
    // column.
    for i in 0..24 {
        let mut user = json!({"userName": format!("n{i:02}@nulls.test")});
        if i % 3 == 0 {
            user["title"] = json!(if i < 12 {
                "Same".to_owned()
            } else {
                format!("T{i}")
            });
        }
        if i % 4 != 0 {
            user["displayName"] = json!(format!("D{}", i % 5));
        }
        assert_eq!(scim.post("/Users", user).await.status, 201);
    }
    let walks = scim.app.services.provisioning().index_walked_sorts();
    for sort in ["title", "displayName", "userName", "meta.created"] {
        for order in ["ascending", "descending"] {
            let query = format!("sortBy={sort}&sortOrder={order}");
            let whole = ids(&scim.get(&format!("/Users?{query}&count=200")).await);
            assert_eq!(whole.len(), 24);

            let mut walked = Vec::new();
            let mut page = scim.get(&format!("/Users?{query}&count=5&cursor")).await;
            loop {
                walked.extend(ids(&page));
                match cursor(&page, "nextCursor") {
                    Some(next) => {
                        page = scim
                            .get(&format!("/Users?{query}&count=5&cursor={}", encode(&next)))
                            .await;
                    }
                    None => break,
                }
            }
            assert_eq!(walked, whole, "cursor walk, {query}");

            // And back from the last page to the first.
            let mut back = Vec::new();
            loop {
                let mut this = ids(&page);
                this.reverse();
                back.extend(this);
                match cursor(&page, "previousCursor") {
                    Some(previous) => {
                        page = scim
                            .get(&format!(
                                "/Users?{query}&count=5&cursor={}",
                                encode(&previous)
                            ))
                            .await;
                    }
                    None => break,
                }
            }
            back.reverse();
            assert_eq!(back, whole, "backwards, {query}");

            let mut by_index = Vec::new();
            for start in (1..=24).step_by(5) {
                by_index.extend(ids(&scim
                    .get(&format!("/Users?{query}&count=5&startIndex={start}"))
                    .await));
            }
            assert_eq!(by_index, whole, "startIndex walk, {query}");
        }
    }
    // `title` is sorted by walking the attribute-value index: each order's whole list,
    // five cursor pages forward, five back and five `startIndex` pages.
    assert!(
        scim.app.services.provisioning().index_walked_sorts() - walks >= 30,
        "sorts by title walked the index"
    );
}
