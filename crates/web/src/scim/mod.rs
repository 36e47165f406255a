//! The SCIM 2.0 endpoint of each tenant: `/scim/v2/{tenant}/…`.
//!
//! Every route authenticates with the tenant's bearer token ([`caller::ScimCaller`]),
//! then calls one function of `roster_core::provisioning` and maps its result
//! ([`respond`], [`error`]).

mod caller;
mod endpoints;
mod error;
mod params;
mod resources;
mod respond;

use actix_web::middleware::{NormalizePath, TrailingSlash};
use actix_web::web;

use resources::{Groups, Users};

fn resource_routes<K: resources::Kind + 'static>(cfg: &mut web::ServiceConfig, base: &str) {
    cfg.service(
        web::resource(base.to_owned())
            .route(web::get().to(resources::list::<K>))
            .route(web::post().to(resources::create::<K>))
            .default_service(web::to(endpoints::method_not_allowed)),
    )
    .service(
        web::resource(format!("{base}/.search"))
            .route(web::post().to(resources::search::<K>))
            .default_service(web::to(endpoints::method_not_allowed)),
    )
    .service(
        web::resource(format!("{base}/{{id}}"))
            .route(web::get().to(resources::get::<K>))
            .route(web::put().to(resources::replace::<K>))
            .route(web::patch().to(resources::patch::<K>))
            .route(web::delete().to(resources::delete::<K>))
            .default_service(web::to(endpoints::method_not_allowed)),
    );
}

/// A resource with one route; other methods get a SCIM 405.
fn only(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path.to_owned())
        .route(route)
        .default_service(web::to(endpoints::method_not_allowed))
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2/{tenant}")
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .configure(|cfg| resource_routes::<Users>(cfg, "/Users"))
            .configure(|cfg| resource_routes::<Groups>(cfg, "/Groups"))
            .service(only("/.search", web::post().to(endpoints::search)))
            .service(only("/Bulk", web::post().to(endpoints::bulk)))
            .service(only(
                "/ServiceProviderConfig",
                web::get().to(endpoints::service_provider_config),
            ))
            .service(only(
                "/ResourceTypes",
                web::get().to(endpoints::resource_types),
            ))
            .service(only(
                "/ResourceTypes/{name}",
                web::get().to(endpoints::resource_type),
            ))
            .service(only("/Schemas", web::get().to(endpoints::schemas)))
            .service(only("/Schemas/{urn}", web::get().to(endpoints::schema)))
            .route("/Me", web::route().to(endpoints::me))
            .default_service(web::to(endpoints::not_found)),
    );
}
