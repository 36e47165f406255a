//! The events and directory API (`/api/v1`): plain JSON for the product behind Roster,
//! authenticated by an API key (`Authorization: Bearer rak_…`) that alone decides the
//! tenant. Handlers are thin: parse the query, call `roster_core::api`, serialise.

mod caller;
mod directory;
mod error;
mod events;

use actix_web::web;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                error::ApiError::bad_request(format!("the query string is not valid: {err}")).into()
            }))
            .route("/events", web::get().to(events::list))
            .route("/users", web::get().to(directory::users))
            .route("/users/{id}", web::get().to(directory::user))
            .route("/groups", web::get().to(directory::groups))
            .route("/groups/{id}/members", web::get().to(directory::members))
            .default_service(web::to(error::not_found)),
    );
}
