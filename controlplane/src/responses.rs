//! The error responses of the OpenAPI document, in small sets that each handler's `#[utoipa::path]` combines to
//! declare what that operation really answers — schemathesis checks every status it sees against them, so an
//! operation declares a status only if it can return it. Every error body is `{"error":{"code","message"}}`.

#![allow(dead_code)]

use utoipa::IntoResponses;

use crate::wire::ErrorBody;

/// What every operation can answer.
#[derive(IntoResponses)]
pub enum Always {
    /// `UNAUTHORIZED`: no API key, or not a valid one (with `WWW-Authenticate: Bearer`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `REQUEST_TIMEOUT`: the request took longer than 30 seconds.
    #[response(status = 408)]
    Timeout(ErrorBody),
    /// `RATE_LIMITED`: the key's rate limit is exceeded.
    #[response(status = 429)]
    RateLimited(ErrorBody),
}

/// What every POST can answer (the `Idempotency-Key` layer reads the body of each).
#[derive(IntoResponses)]
pub enum Post {
    /// `PAYLOAD_TOO_LARGE`: the body is larger than 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `IDEMPOTENCY_KEY_REUSED`: the `Idempotency-Key` was used with another method, path or body.
    #[response(status = 422)]
    IdempotencyKeyReused(ErrorBody),
}

/// What an operation that takes a JSON body can answer.
#[derive(IntoResponses)]
pub enum JsonBody {
    /// `PAYLOAD_TOO_LARGE`: the body is larger than 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `UNSUPPORTED_MEDIA_TYPE`: the body's `Content-Type` is not `application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
}

/// Invalid input.
#[derive(IntoResponses)]
pub enum BadRequest {
    /// Bad JSON, an unknown field, a value out of range or of the wrong form, a bad paging parameter or
    /// `Idempotency-Key` (the code says which, the message names the value).
    #[response(status = 400)]
    BadRequest(ErrorBody),
}

/// An object named in the path or the body that this account cannot see.
#[derive(IntoResponses)]
pub enum NotFound {
    /// `NOT_FOUND`: no such object for this account (another account's objects are not found either).
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// A peering decision by the wrong side.
#[derive(IntoResponses)]
pub enum Forbidden {
    /// `FORBIDDEN`: the peering is visible but this account may not do that (e.g. the requester accepting).
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// A request the current state refuses.
#[derive(IntoResponses)]
pub enum Conflict {
    /// The state forbids it: a duplicate, a quota, an overlap, an object in use, a peering that is not
    /// pending; or `IDEMPOTENCY_KEY_IN_PROGRESS`, a request with the same `Idempotency-Key` still running.
    #[response(status = 409)]
    Conflict(ErrorBody),
}
