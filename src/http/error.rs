//! HTTP errors: one type, mapped to a status and a JSON `{code, message}` body.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use client_protocol::http::ApiError;
use client_protocol::{ErrorCode, Until};

use crate::auth::{banned_message, AuthError};
use crate::store::StoreError;

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

pub fn json_error(err: actix_web::error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    HttpError::new(ErrorCode::InvalidField, format!("bad JSON body: {err}")).into()
}

pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    HttpError::new(ErrorCode::InvalidField, format!("bad query: {err}")).into()
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        ErrorCode::NotFound,
        format!("no route {} {}", req.method(), req.path()),
    ))
}
