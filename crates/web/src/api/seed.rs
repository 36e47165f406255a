//! The write side of the directory API: the product seeds the users it already has
//! (`POST /users`, one user; `POST /users/batch`, up to 1,000), so that its customer's
//! identity provider finds them instead of creating duplicates. Needs an API key of
//! scope `write`; see `roster_core::provisioning::seed` for what a seed does.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use roster_core::provisioning::{
    ItemError, MAX_SEED_BATCH, SeedError, SeedInput, SeedOutcome, SeedUser, seeded_json,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::ApiCaller;
use super::error::ApiError;

/// Largest body of `POST /users`.
pub(crate) const MAX_USER_BODY: usize = 64 * 1024;
/// Largest body of `POST /users/batch`: 1,000 users of about 2 KiB.
pub(crate) const MAX_BATCH_BODY: usize = 2 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    users: Vec<Value>,
}

/// Reads at most `max` bytes of a JSON body; more is a 413, another media type a 415.
async fn json_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
) -> Result<Value, ApiError> {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if media.as_deref().is_some_and(|m| m != "application/json") {
        return Err(ApiError::unsupported_media_type());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::bad_request("the request body could not be read"))?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::too_large(max));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|err| ApiError::bad_request(format!("the body is not valid JSON: {err}")))
}

/// Parses every user; all the problems at once, by index.
fn parse_users(raw: Vec<Value>) -> Result<Vec<SeedUser>, Vec<ItemError>> {
    let mut users = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (index, value) in raw.into_iter().enumerate() {
        let user_name = value
            .get("userName")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let item = |field: String, message: String| ItemError {
            index: Some(index),
            user_name: user_name.clone(),
            field,
            message,
            same_as: None,
        };
        if !value.is_object() {
            errors.push(item(
                String::new(),
                "a user must be a JSON object".to_owned(),
            ));
            continue;
        }
        // serde would read a struct from an array too: the contract says objects.
        if value
            .get("name")
            .is_some_and(|name| !(name.is_object() || name.is_null()))
        {
            errors.push(item(
                "name".to_owned(),
                "must be an object with givenName and familyName, or null".to_owned(),
            ));
            continue;
        }
        let input: SeedInput = match serde_json::from_value(value) {
            Ok(input) => input,
            Err(err) => {
                errors.push(item(String::new(), err.to_string()));
                continue;
            }
        };
        match SeedUser::parse(&input) {
            Ok(user) => users.push(user),
            Err(problems) => errors.extend(problems.into_iter().map(|(f, m)| item(f, m))),
        }
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        Err(errors)
    }
}

fn errors_json(errors: &[ItemError]) -> Vec<Value> {
    errors
        .iter()
        .map(|e| {
            json!({
                "index": e.index,
                "userName": e.user_name,
                "field": e.field,
                "message": e.message,
                "sameAs": e.same_as,
            })
        })
        .collect()
}

/// The answer to a seed that wrote nothing.
fn refused(status: StatusCode, errors: &[ItemError]) -> ApiError {
    let message = match errors {
        [one] => one.sentence(),
        many => format!(
            "{} users cannot be seeded, so none was: {}",
            many.len(),
            many.iter()
                .take(3)
                .map(ItemError::sentence)
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    ApiError::with_items(status, message, errors_json(errors))
}

fn seed_error(err: SeedError) -> ApiError {
    match err {
        SeedError::Refused(errors) => refused(StatusCode::CONFLICT, &errors),
        SeedError::Internal(err) => err.into(),
    }
}

/// `POST /users`: one user. 201 when created, 200 when linked or already seeded.
pub(crate) async fn create(
    req: HttpRequest,
    caller: ApiCaller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ctx = caller.seeding(&req)?;
    let body = json_body(&req, payload, MAX_USER_BODY).await?;
    let users = parse_users(vec![body]).map_err(|e| refused(StatusCode::BAD_REQUEST, &e))?;
    let seeded = caller
        .provisioning()
        .seed_users(&ctx, &users)
        .await
        .map_err(seed_error)?;
    let Some(result) = seeded.into_iter().next() else {
        return Err(ApiError::internal());
    };
    let user = match result.id {
        Some(id) => caller.api()?.user(id).await?,
        None => None,
    };
    let status = if result.outcome == SeedOutcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(json!({
        "outcome": result.outcome.as_str(),
        "user": user,
    })))
}

/// `POST /users/batch`: up to 1,000 users, all or none.
pub(crate) async fn batch(
    req: HttpRequest,
    caller: ApiCaller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ctx = caller.seeding(&req)?;
    let body = json_body(&req, payload, MAX_BATCH_BODY).await?;
    let batch: Batch = serde_json::from_value(body).map_err(|err| {
        ApiError::bad_request(format!("the body must be {{\"users\": [ … ]}}: {err}"))
    })?;
    if batch.users.is_empty() || batch.users.len() > MAX_SEED_BATCH {
        return Err(ApiError::bad_request(format!(
            "users: {} given; from 1 to {MAX_SEED_BATCH} are accepted per request",
            batch.users.len()
        )));
    }
    let users = parse_users(batch.users).map_err(|e| refused(StatusCode::BAD_REQUEST, &e))?;
    let seeded = caller
        .provisioning()
        .seed_users(&ctx, &users)
        .await
        .map_err(seed_error)?;
    let count = |outcome| seeded.iter().filter(|s| s.outcome == outcome).count();
    Ok(HttpResponse::Ok().json(json!({
        "created": count(SeedOutcome::Created),
        "linked": count(SeedOutcome::Linked),
        "unchanged": count(SeedOutcome::Unchanged),
        "results": seeded.iter().map(seeded_json).collect::<Vec<_>>(),
    })))
}
