//! The JSON error body every answer of the simulator that is not a page uses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// `status` with the body `{"code": status, "message": message}`.
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({"code": status.as_u16(), "message": message.into()});
    (status, Json(body)).into_response()
}
