//! API errors: `{"error": "<code>", "message": "…"}` with the matching status. A 401
//! carries `WWW-Authenticate: Bearer` and never says whether a tenant exists.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use roster_core::rate_limit::RetryAfter;
use roster_core::token_auth::AuthError;
use serde_json::json;

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
    /// Per-item errors of a seed (`errors` in the body).
    items: Option<Vec<serde_json::Value>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            items: None,
        }
    }

    /// A seed that wrote nothing: 400 (`invalid_request`) or 409 (`conflict`), with
    /// every user's error.
    pub(crate) fn with_items(
        status: StatusCode,
        message: String,
        items: Vec<serde_json::Value>,
    ) -> Self {
        let code = if status == StatusCode::CONFLICT {
            "conflict"
        } else {
            "invalid_request"
        };
        Self {
            items: Some(items),
            ..Self::new(status, code, message)
        }
    }

    /// A read-only API key asked to write.
    pub(crate) fn insufficient_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "this API key may only read; seeding users needs an API key with the scope \
             \"Read and write users\" (create one under API keys in Roster)",
        )
    }

    pub(crate) fn too_large(max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {max} bytes; send fewer users per request"),
        )
    }

    pub(crate) fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON (Content-Type: application/json)",
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn unauthorized(reason: &AuthError) -> Self {
        match reason {
            AuthError::Suspended => Self::new(
                StatusCode::FORBIDDEN,
                "tenant_suspended",
                "this tenant is suspended; contact the Roster operator",
            ),
            AuthError::Missing => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the Authorization header must be \"Bearer <API key>\"",
            ),
            AuthError::Revoked => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this API key has been revoked; create a new one in Roster",
            ),
            AuthError::Expired => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this API key has expired; create a new one in Roster",
            ),
            AuthError::Invalid => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the bearer token is not a valid API key",
            ),
        }
    }

    pub(crate) fn rate_limited(retry: RetryAfter) -> Self {
        let wait = retry.duration();
        Self {
            retry_after: Some(wait),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many requests for this API key; retry after {} second(s)",
                    wait.as_secs().max(1)
                ),
            )
        }
    }

    /// Too many first verifications of keys at once on this node: 503, try again.
    pub(crate) fn busy() -> Self {
        Self {
            retry_after: Some(roster_core::hashing::RETRY_AFTER),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many new API keys to check at once; retry in a few seconds",
            )
        }
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; the request id is in the X-Request-Id header",
        )
    }
}

impl From<roster_core::Error> for ApiError {
    fn from(err: roster_core::Error) -> Self {
        match err {
            roster_core::Error::Invalid { field, message } => {
                Self::bad_request(format!("{field}: {message}"))
            }
            roster_core::Error::NotFound => Self::not_found("not found"),
            roster_core::Error::Busy => Self::busy(),
            other => {
                tracing::error!(error = %roster_core::error::chain(&other), "API request failed");
                Self::internal()
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"roster-api\", error=\"invalid_token\"",
            ));
        }
        if let Some(wait) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
        }
        match &self.items {
            Some(items) => response
                .json(json!({ "error": self.code, "message": self.message, "errors": items })),
            None => response.json(json!({ "error": self.code, "message": self.message })),
        }
    }
}

pub(crate) async fn method_not_allowed() -> HttpResponse {
    not_allowed("GET")
}

/// `/users`: read with GET, seed with POST.
pub(crate) async fn method_not_allowed_users() -> HttpResponse {
    not_allowed("GET, POST")
}

/// `/users/batch`: POST only.
pub(crate) async fn method_not_allowed_batch() -> HttpResponse {
    not_allowed("POST")
}

fn not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this resource answers {allow} only"),
    )
    .error_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

pub(crate) async fn not_found() -> HttpResponse {
    ApiError::not_found("no such API endpoint; see docs/api/openapi.yaml").error_response()
}
