//! HTTP errors: one type, mapped to a status and a JSON `{code, message}` body.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use client_protocol::http::ApiError;
use client_protocol::{ErrorCode, Until};

use crate::auth::{banned_message, AuthError};
use crate::session::frame::in_words;
use crate::store::StoreError;
use crate::telemetry::names;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HttpError {
    pub code: ErrorCode,
    pub message: String,
    pub until: Option<Until>,
}

impl HttpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HttpError {
            code,
            message: message.into(),
            until: None,
        }
    }

    /// `banned` (403) with its end: `until` None is a ban until lifted.
    pub fn banned(until: Option<u64>) -> Self {
        HttpError {
            until: Some(Until(until)),
            ..HttpError::new(ErrorCode::Banned, banned_message(until))
        }
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        match self.code {
            ErrorCode::BadFrame | ErrorCode::InvalidField | ErrorCode::UnknownType => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::Unauthenticated | ErrorCode::BadCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::Banned | ErrorCode::Muted | ErrorCode::Playban => {
                StatusCode::FORBIDDEN
            }
            ErrorCode::NotFound | ErrorCode::NoSuchGame => StatusCode::NOT_FOUND,
            ErrorCode::UsernameTaken
            | ErrorCode::Conflict
            | ErrorCode::TournamentFull
            | ErrorCode::TournamentClosed
            | ErrorCode::InTournamentGame => StatusCode::CONFLICT,
            ErrorCode::RateLimited | ErrorCode::ChatFlood => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(ApiError {
            code: self.code,
            message: self.message.clone(),
            until: self.until,
        })
    }
}

impl From<AuthError> for HttpError {
    fn from(e: AuthError) -> Self {
        if let AuthError::Unavailable(cause) = &e {
            tracing::warn!(error = %cause, "account store unavailable");
        }
        if let AuthError::Banned { until } = e {
            return HttpError::banned(until);
        }
        HttpError::new(e.code(), e.to_string())
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "store error");
        HttpError::new(
            ErrorCode::Unavailable,
            "the store is unavailable, retry shortly",
        )
    }
}

/// A request the node refused before any handler ran (a body, query or path that does not
/// parse, a method the path does not serve): any client can send these at will, so they are
/// logged at debug, never above, and counted by `reason`.
pub fn rejected(reason: &'static str, code: ErrorCode, message: String) -> HttpError {
    metrics::counter!(names::HTTP_REJECTED, "reason" => reason).increment(1);
    tracing::debug!(reason, %message, "request rejected");
    HttpError::new(code, message)
}

/// A JSON body error, in words (see `frame::in_words`).
pub fn json_message(err: &JsonPayloadError) -> String {
    match err {
        JsonPayloadError::Deserialize(e) if e.is_syntax() || e.is_eof() => {
            format!("the body is not valid JSON: {}", in_words(e))
        }
        JsonPayloadError::Deserialize(e) => format!("bad body: {}", in_words(e)),
        JsonPayloadError::ContentType => {
            "the body must be JSON, sent with Content-Type: application/json".to_owned()
        }
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            format!("the body is over {limit} bytes")
        }
        other => format!("the body could not be read: {other}"),
    }
}

pub fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    rejected("body", ErrorCode::InvalidField, json_message(&err)).into()
}

pub fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let QueryPayloadError::Deserialize(e) = &err else {
        return rejected(
            "query",
            ErrorCode::InvalidField,
            format!("bad query: {err}"),
        )
        .into();
    };
    // serde_urlencoded's errors name no Rust types but a field: "invalid digit found in string".
    rejected("query", ErrorCode::InvalidField, format!("bad query: {e}")).into()
}

pub fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    let PathError::Deserialize(e) = &err else {
        return rejected("path", ErrorCode::InvalidField, format!("bad path: {err}")).into();
    };
    rejected("path", ErrorCode::InvalidField, format!("bad path: {e}")).into()
}

/// The default service of a resource: its path exists, this method does not. 405 with the
/// methods it does serve in `Allow`.
pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move {
        let error = rejected(
            "method",
            ErrorCode::MethodNotAllowed,
            format!(
                "{} {} is not served; allowed: {allow}",
                req.method(),
                req.path()
            ),
        );
        let mut response = error.error_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        response
    })
}

/// Every error the app answers is JSON `{code, message}`: the few that actix-web writes
/// itself as plain text (a body over its limit, a payload error) are rewritten here.
pub fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(as_json)
}

fn as_json<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status {
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_client_error() => ErrorCode::InvalidField,
        _ => ErrorCode::Internal,
    };
    if status.is_client_error() {
        metrics::counter!(names::HTTP_REJECTED, "reason" => "other").increment(1);
        tracing::debug!(%status, "request rejected");
    }
    let (req, mut res) = res.into_parts();
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let body = serde_json::to_string(&ApiError {
        code,
        message,
        until: None,
    })
    .expect("an error serialises");
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let res = res.set_body(BoxBody::new(body));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body::<B>(),
    ))
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        ErrorCode::NotFound,
        format!("no route {} {}", req.method(), req.path()),
    ))
}
