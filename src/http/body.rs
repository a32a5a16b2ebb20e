//! Strict JSON bodies: a body is one JSON object (never an array, which serde would read
//! into a struct field by field, nor a scalar), read into its type, every error said in words.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use client_protocol::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{rejected, HttpError};
use crate::session::frame::in_words;

/// A JSON object body, read into `T`. Like `web::Json` (same content type and size rules, from
/// the app's `JsonConfig`), but an array or a scalar is refused.
pub struct JsonObject<T>(pub T);

impl<T> std::ops::Deref for JsonObject<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            Ok(JsonObject(from_object(value)?))
        })
    }
}

/// Reads `T` from a body that must be a JSON object.
pub fn from_object<T: DeserializeOwned>(value: Value) -> Result<T, HttpError> {
    let kind = match &value {
        Value::Object(_) => {
            return T::deserialize(value).map_err(|e| {
                rejected(
                    "body",
                    ErrorCode::InvalidField,
                    format!("bad body: {}", in_words(&e)),
                )
            })
        }
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    };
    Err(rejected(
        "body",
        ErrorCode::InvalidField,
        format!("the body must be a JSON object, not {kind}"),
    ))
}

/// Reads `T` from raw bytes that must hold one JSON object.
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        rejected(
            "body",
            ErrorCode::InvalidField,
            format!("the body is not valid JSON: {}", in_words(&e)),
        )
    })?;
    from_object(value)
}
