//! The events and directory API (`/api/v1`): plain JSON for the product behind Roster,
//! authenticated by an API key (`Authorization: Bearer rak_…`) that alone decides the
//! tenant. Handlers are thin: parse the query, call `roster_core::api`, serialise.

mod audit;
mod caller;
mod directory;
mod error;
mod events;
mod seed;

use actix_web::web;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                error::ApiError::bad_request(format!("the query string is not valid: {err}")).into()
            }))
            .service(read_only("/events").route(web::get().to(events::list)))
            .service(read_only("/audit").route(web::get().to(audit::list)))
            .service(
                web::resource("/users")
                    .route(web::get().to(directory::users))
                    .route(web::post().to(seed::create))
                    .default_service(web::to(error::method_not_allowed_users)),
            )
            .service(
                web::resource("/users/batch")
                    .route(web::post().to(seed::batch))
                    .default_service(web::to(error::method_not_allowed_batch)),
            )
            .service(read_only("/users/{id}").route(web::get().to(directory::user)))
            .service(read_only("/groups").route(web::get().to(directory::groups)))
            .service(read_only("/groups/{id}/members").route(web::get().to(directory::members)))
            .service(read_only("/locations").route(web::get().to(directory::locations)))
            .default_service(web::to(error::not_found)),
    );
}

/// A read-only resource of the API: any method but `GET` is 405 with `Allow: GET`, as
/// docs/api/openapi.yaml declares (before authentication: the method is wrong whoever
/// asks).
fn read_only(path: &str) -> actix_web::Resource {
    web::resource(path.to_owned()).default_service(web::to(error::method_not_allowed))
}
