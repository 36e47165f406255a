//! `/healthz` (the process answers), `/readyz` (the database answers, its schema is
//! current, and the node is not shutting down) and `/metrics`. The probes answer `GET`
//! and `HEAD` (a `HEAD` gets the status and headers without the body); other methods
//! get 405 with `Allow`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::{AppState, Metrics};

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(probe("/healthz").to(healthz))
        .service(probe("/readyz").to(readyz))
        .service(
            web::resource("/metrics")
                .route(web::get().to(metrics))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        );
}

/// A resource answering GET and HEAD (actix answers a HEAD with the GET handler's
/// headers and no body), and 405 otherwise.
fn probe(path: &str) -> ProbeBuilder {
    ProbeBuilder(path.to_owned())
}

struct ProbeBuilder(String);

impl ProbeBuilder {
    fn to<F, Args>(self, handler: F) -> actix_web::Resource
    where
        F: actix_web::Handler<Args> + Clone,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        web::resource(self.0)
            .route(web::get().to(handler.clone()))
            .route(web::head().to(handler))
            .default_service(web::to(|| async { method_not_allowed("GET, HEAD") }))
    }
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .json(json!({ "status": "method not allowed" }))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.readiness.is_draining() {
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not ready", "reason": "shutting down" }));
    }
    match state.services.db().check_ready().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not ready", "reason": err.to_string() }))
        }
    }
}

async fn metrics(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> HttpResponse {
    metrics.refresh(&state.services).await;
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(metrics.render())
}
