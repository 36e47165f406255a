//! Trusted domains: DNS verification against a real DNS server on loopback, the domain
//! rule on SCIM writes, and tokens limited to one domain.

use std::sync::Arc;

use roster_core::rules::{EmailDomain, VerifyOutcome};
use roster_core::tokens::TokenLabel;
use roster_testkit::TestApp;
use secrecy::ExposeSecret;
use serde_json::json;

use super::dns::DnsServer;
use super::support::*;
use crate::scim::support::{Scim, patch_op};

#[tokio::test]
async fn domains_are_verified_through_dns_and_belong_to_one_tenant() {
    let dns = DnsServer::start().await;
    let app = Arc::new(TestApp::builder().dns_nameserver(dns.addr).spawn().await);
    let acme = Scim::on(app.clone(), "acme").await;
    let globex = acme.tenant("globex").await;
    let (operator, acme_access) = access(&app, "acme").await;
    let (_, globex_access) = access(&app, "globex").await;
    let rules = app.services.rules();

    let id = rules
        .add_domain(
            &acme_access,
            EmailDomain::parse("Acme.Test").unwrap(),
            false,
        )
        .await
        .unwrap();
    let domain = rules.domain(&acme_access, id).await.unwrap();
    assert_eq!(domain.domain.as_str(), "acme.test");
    assert!(domain.txt_value().starts_with("roster-verification="));

    // Nothing published yet.
    let outcome = rules.verify_domain(&acme_access, id).await.unwrap();
    assert_eq!(
        outcome,
        VerifyOutcome::NotYet(
            "no TXT record found for acme.test yet; DNS changes can take a while to appear".into()
        )
    );
    // Another value: still not verified, and the admin is told which one is wanted.
    dns.zone.publish("acme.test", "v=spf1 -all");
    let VerifyOutcome::NotYet(why) = rules.verify_domain(&acme_access, id).await.unwrap() else {
        panic!("verified without the record");
    };
    assert!(why.contains(&domain.txt_value()), "{why}");
    assert_eq!(
        rules
            .domain(&acme_access, id)
            .await
            .unwrap()
            .last_check_error,
        Some(why)
    );

    // Published: verified, by DNS.
    dns.zone.publish("acme.test", &domain.txt_value());
    assert_eq!(
        rules.verify_domain(&acme_access, id).await.unwrap(),
        VerifyOutcome::Verified
    );
    let verified = rules.domain(&acme_access, id).await.unwrap();
    assert_eq!(verified.verified.unwrap().by, "dns");
    assert_eq!(verified.last_check_error, None);

    // Globex claims the same domain and even publishes its own record: a verified
    // domain belongs to one tenant only (the unique index says so).
    let theirs = rules
        .add_domain(
            &globex_access,
            EmailDomain::parse("acme.test").unwrap(),
            false,
        )
        .await
        .unwrap();
    let their_token = rules
        .domain(&globex_access, theirs)
        .await
        .unwrap()
        .txt_value();
    dns.zone.publish("acme.test", &their_token);
    let expected = "acme.test is already verified by another tenant; a verified domain belongs \
                    to one tenant only (ask the Roster operator)";
    assert_eq!(
        rules.verify_domain(&globex_access, theirs).await.unwrap(),
        VerifyOutcome::NotYet(expected.into())
    );
    assert_eq!(
        rules
            .mark_verified(&globex_access, theirs, &operator)
            .await
            .unwrap(),
        VerifyOutcome::NotYet(expected.into())
    );
    // Globex's SCIM endpoint is not restricted by an unverified domain.
    assert_eq!(globex.create_user("bob@anywhere.test").await.len(), 36);

    // Marking by hand is for operators, and is recorded with who did it.
    let other = rules
        .add_domain(
            &acme_access,
            EmailDomain::parse("acme.example").unwrap(),
            false,
        )
        .await
        .unwrap();
    let tenant_admin = roster_core::admins::Admin {
        is_operator: false,
        ..operator.clone()
    };
    assert!(matches!(
        rules
            .mark_verified(&acme_access, other, &tenant_admin)
            .await,
        Err(roster_core::Error::NotFound)
    ));
    rules
        .mark_verified(&acme_access, other, &operator)
        .await
        .unwrap();
    let marked = rules.domain(&acme_access, other).await.unwrap();
    assert_eq!(marked.verified.unwrap().by, OPERATOR);
}

#[tokio::test]
async fn users_outside_the_verified_domains_are_refused() {
    let scim = Scim::new().await;
    let (operator, acme) = access(&scim.app, "acme").await;
    let rules = scim.app.services.rules();
    // Before any verified domain, anyone is accepted.
    let legacy = scim.create_user("old@elsewhere.test").await;
    let id = rules
        .add_domain(&acme, EmailDomain::parse("acme.test").unwrap(), false)
        .await
        .unwrap();
    // Unverified domains do not restrict yet.
    scim.create_user("early@elsewhere.test").await;
    rules.mark_verified(&acme, id, &operator).await.unwrap();

    let before = counts(&scim, &acme).await;
    let answer = scim
        .post("/Users", user_body("bob@evil.test", "bob@evil.test"))
        .await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        400,
        Some("invalidValue"),
        "userName \"bob@evil.test\" is in the domain \"evil.test\", which is not a trusted \
         domain of this tenant (allowed: acme.test); add and verify evil.test in Roster under \
         Trusted domains, or give the user an address in an allowed domain in Okta",
    )
    .await;

    // The primary email counts too.
    let before = counts(&scim, &acme).await;
    let answer = scim
        .post("/Users", user_body("carol@acme.test", "carol@gmail.test"))
        .await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        400,
        Some("invalidValue"),
        "the primary email \"carol@gmail.test\" is in the domain \"gmail.test\", which is not \
         a trusted domain of this tenant (allowed: acme.test); add and verify gmail.test in \
         Roster under Trusted domains, or give the user an address in an allowed domain in Okta",
    )
    .await;

    // Subdomains only when included.
    let answer = scim
        .post("/Users", user_body("dan@eu.acme.test", "dan@eu.acme.test"))
        .await;
    answer.assert_error(400, Some("invalidValue"));
    rules.set_include_subdomains(&acme, id, true).await.unwrap();
    let answer = scim
        .post("/Users", user_body("dan@eu.acme.test", "dan@eu.acme.test"))
        .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let ada = scim.create_user("ada@ACME.test").await;

    // A change of identity is checked; a deactivation never is.
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([{"op": "replace", "path": "userName", "value": "ada@evil.test"}])),
        )
        .await;
    answer.assert_error(400, Some("invalidValue"));
    let answer = scim
        .patch(
            &format!("/Users/{legacy}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(scim.delete(&format!("/Users/{legacy}")).await.status, 204);
}

#[tokio::test]
async fn a_domain_scoped_token_only_touches_its_domain() {
    let scim = Scim::new().await;
    let (operator, acme) = access(&scim.app, "acme").await;
    let services = &scim.app.services;
    let rules = services.rules();
    let mut domain_ids = Vec::new();
    for name in ["acme.test", "globex.test"] {
        let id = rules
            .add_domain(&acme, EmailDomain::parse(name).unwrap(), false)
            .await
            .unwrap();
        rules.mark_verified(&acme, id, &operator).await.unwrap();
        domain_ids.push(id);
    }
    let token = services
        .tokens()
        .create_for(
            &acme,
            TokenLabel::parse("acme.test only").unwrap(),
            None,
            Some(domain_ids[0]),
        )
        .await
        .unwrap();
    // An unverified or foreign domain cannot be a scope.
    let unverified = rules
        .add_domain(&acme, EmailDomain::parse("later.test").unwrap(), false)
        .await
        .unwrap();
    assert!(
        services
            .tokens()
            .create_for(
                &acme,
                TokenLabel::parse("x").unwrap(),
                None,
                Some(unverified)
            )
            .await
            .is_err()
    );
    let globex_user = scim.create_user("gus@globex.test").await;
    let scoped = Scim {
        app: scim.app.clone(),
        base: scim.base.clone(),
        token: token.token.expose_secret().to_owned(),
        slug: scim.slug.clone(),
    };

    assert_eq!(scoped.create_user("ada@acme.test").await.len(), 36);
    let before = counts(&scim, &acme).await;
    let answer = scoped
        .post("/Users", user_body("bob@globex.test", "bob@globex.test"))
        .await;
    let detail = |user: &str| {
        format!(
            "this SCIM token is limited to the domain acme.test, and the user \"{user}\" is not \
             in it; use this domain's users only, or a token without a domain scope"
        )
    };
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        403,
        None,
        &detail("bob@globex.test"),
    )
    .await;
    // The scope is the token's, whichever base URL it arrives at.
    let answer = scoped
        .shared()
        .post("/Users", user_body("bob@globex.test", "bob@globex.test"))
        .await;
    answer.assert_error(403, None);
    assert_eq!(answer.body["detail"], detail("bob@globex.test"));
    scoped
        .shared()
        .patch(
            &format!("/Users/{globex_user}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await
        .assert_error(403, None);
    // Nor change or remove a user of another domain; reading is fine.
    let answer = scoped
        .patch(
            &format!("/Users/{globex_user}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    answer.assert_error(403, None);
    assert_eq!(answer.body["detail"], detail("gus@globex.test"));
    scoped
        .delete(&format!("/Users/{globex_user}"))
        .await
        .assert_error(403, None);
    assert_eq!(
        scoped.get(&format!("/Users/{globex_user}")).await.status,
        200
    );

    // Removing the domain revokes its tokens (refused within a second, like any
    // revocation; meanwhile the vanished scope refuses every user write).
    rules.remove_domain(&acme, domain_ids[0]).await.unwrap();
    scoped
        .post("/Users", user_body("eve@acme.test", "eve@acme.test"))
        .await
        .assert_error(403, None);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let answer = scoped.get("/Users").await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert!(answer.body["detail"].as_str().unwrap().contains("revoked"));
}
