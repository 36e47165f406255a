//! The admin UI's one error type, and the middleware that turns every 4xx/5xx answer
//! without a page of its own into an HTML error page carrying the request id.
//!
//! A 5xx body says only that something went wrong and which request it was; the cause
//! chain goes to the log once, here, where the error is converted.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use askama::Template;
use tracing_actix_web::RequestId;

use super::page::Layout;

#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminError {
    #[error("not found")]
    NotFound,
    /// A state-changing request without the session's CSRF token or origin.
    #[error("forbidden")]
    Forbidden,
    /// A form posted from a page opened at another origin than the public URL's.
    #[error("forbidden: the form came from {received}, the public URL is {expected}")]
    WrongOrigin { received: String, expected: String },
    #[error("bad request")]
    BadRequest,
    #[error("payload too large")]
    PayloadTooLarge,
    /// No live session: off to the sign-in page.
    #[error("sign-in required")]
    SignIn,
    /// No live session on a tenant's page: off to the sign-in page for that tenant.
    #[error("sign-in required")]
    SignInTo(roster_core::tenants::TenantSlug),
    /// Somewhere else first (e.g. the forced password change).
    #[error("redirect")]
    Redirect(&'static str),
    /// The browser's setup session ended (its link was revoked or expired): 410, and
    /// the cookie is cleared.
    #[error("setup session ended")]
    SetupEnded,
    /// The node's password hashing is at its bound: 503 with `Retry-After`.
    #[error("busy")]
    Busy,
    #[error("internal error")]
    Internal,
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::WrongOrigin { .. } => StatusCode::FORBIDDEN,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::SignIn | Self::SignInTo(_) | Self::Redirect(_) => StatusCode::SEE_OTHER,
            Self::SetupEnded => StatusCode::GONE,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn => see_other("/admin/login"),
            Self::SignInTo(slug) => see_other(&format!("/admin/login?tenant={slug}")),
            Self::Redirect(to) => see_other(to),
            Self::Busy => with_retry_after(HttpResponse::ServiceUnavailable().finish()),
            Self::WrongOrigin { received, expected } => {
                let mut response = HttpResponse::build(self.status_code()).finish();
                response.extensions_mut().insert(WrongOrigin {
                    received: received.clone(),
                    expected: expected.clone(),
                });
                response
            }
            Self::SetupEnded => {
                let mut gone = actix_web::cookie::Cookie::build(super::session::SETUP_COOKIE, "")
                    .path("/admin")
                    .finish();
                gone.make_removal();
                HttpResponse::Gone().cookie(gone).finish()
            }
            // The body is filled in by `pages()`, which knows the request.
            other => HttpResponse::build(other.status_code()).finish(),
        }
    }
}

impl From<roster_core::Error> for AdminError {
    fn from(err: roster_core::Error) -> Self {
        use roster_core::Error;
        match err {
            Error::NotFound => Self::NotFound,
            // Handlers turn the expected ones into inline form errors; one that gets here
            // came from input the form does not offer.
            Error::Invalid { .. } | Error::Conflict(_) => Self::BadRequest,
            Error::Busy => Self::Busy,
            Error::Database(_) | Error::Internal(_) | Error::InternalFrom { .. } => {
                tracing::error!(error = %roster_core::error::chain(&err), "admin request failed");
                Self::Internal
            }
        }
    }
}

/// Adds `Retry-After` to an answer that says "too busy, try again".
pub(crate) fn with_retry_after(mut response: HttpResponse) -> HttpResponse {
    let seconds = roster_core::hashing::RETRY_AFTER.as_secs().to_string();
    if let Ok(value) = header::HeaderValue::from_str(&seconds) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// What the error page says about a form from another origin (see `forms::check_origin`).
#[derive(Clone, Debug)]
struct WrongOrigin {
    received: String,
    expected: String,
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage {
    l: Layout,
    status: u16,
    title: &'static str,
    message: String,
    /// Where to go instead ("Back to Roster" otherwise).
    link: Option<String>,
    request_id: String,
}

/// Renders an error page for every error answer in the admin scope that is not already
/// a page (form pages with inline errors are `text/html` and pass through).
pub(crate) fn pages<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(render_error_page)
}

fn render_error_page<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_page {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let request_id = res
        .request()
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let (title, message) = describe(status);
    let wrong_origin = res.response().extensions().get::<WrongOrigin>().cloned();
    let (message, link) = match wrong_origin {
        Some(WrongOrigin { received, expected }) => (
            format!(
                "This page was opened at {received}, but Roster's public URL is {expected}: \
                 forms work only there, so reloading does not help. Open {expected}/admin and \
                 sign in there. If {expected} is not the address people use, the operator \
                 sets ROSTER_PUBLIC_URL to the one they do."
            ),
            Some(format!("{expected}/admin")),
        ),
        None => (message.to_owned(), None),
    };
    let page = ErrorPage {
        l: Layout::anonymous(),
        status: status.as_u16(),
        title,
        message,
        link,
        request_id,
    };
    let body = page.render().unwrap_or_else(|err| {
        tracing::error!(error = %err, "rendering the error page failed");
        format!("{} {title}", status.as_u16())
    });
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let cookies: Vec<_> = res.headers().get_all(header::SET_COOKIE).cloned().collect();
    let (req, _) = res.into_parts();
    let mut response = HttpResponse::build(status);
    if let Some(value) = retry_after {
        response.insert_header((header::RETRY_AFTER, value));
    }
    for cookie in cookies {
        response.append_header((header::SET_COOKIE, cookie));
    }
    let response = response.content_type("text/html; charset=utf-8").body(body);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "Bad request",
            "The request could not be understood. Go back and try again.",
        ),
        403 => (
            "Forbidden",
            "This form has expired or did not come from this site. Reload the page and submit it again.",
        ),
        404 => (
            "Not found",
            "There is nothing here, or you do not have access to it.",
        ),
        405 => ("Method not allowed", "This page cannot be used that way."),
        410 => (
            "Setup session ended",
            "This setup session has ended: its link was revoked or has expired. Ask whoever sent you the link for a new one.",
        ),
        413 => (
            "Too large",
            "What was sent is too large. Shorten it and try again.",
        ),
        503 => (
            "Busy",
            "Roster is busy checking other passwords. Try again in a few seconds.",
        ),
        code if code >= 500 => (
            "Something went wrong",
            "Roster could not complete this request. It has been logged; if it keeps happening, give the request id below to your operator.",
        ),
        _ => ("Error", "The request could not be completed."),
    }
}
