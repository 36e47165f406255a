//! The rule guides of `docs/rules/` and the webhook receiver guide, compiled in and served as plain text, so that the
//! admin pages can link to the guide of the same version of Roster.

use actix_web::{HttpResponse, web};

use super::error::AdminError;

const GUIDES: [(&str, &str); 6] = [
    (
        "trusted-domains",
        include_str!("../../../../docs/rules/trusted-domains.md"),
    ),
    (
        "provisioning-settings",
        include_str!("../../../../docs/rules/provisioning-settings.md"),
    ),
    (
        "notification-defaults",
        include_str!("../../../../docs/rules/notification-defaults.md"),
    ),
    (
        "locations",
        include_str!("../../../../docs/rules/locations.md"),
    ),
    (
        "custom-attributes",
        include_str!("../../../../docs/rules/custom-attributes.md"),
    ),
    ("webhooks", include_str!("../../../../docs/webhooks.md")),
];

pub(crate) async fn page(path: web::Path<String>) -> Result<HttpResponse, AdminError> {
    let name = path.into_inner();
    let (_, text) = GUIDES
        .iter()
        .find(|(guide, _)| *guide == name)
        .ok_or(AdminError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(*text))
}
