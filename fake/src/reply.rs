//! What a handler answers: a status with an optional JSON body, or an error in the server's
//! shape (`{"error": "..."}`).

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
}

impl Reply {
    /// 200 with a JSON body.
    pub(crate) fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
        }
    }

    /// 201 with a JSON body.
    pub(crate) fn created(body: Value) -> Reply {
        Reply {
            status: StatusCode::CREATED,
            body: Some(body),
        }
    }

    /// 204 with an empty body.
    pub(crate) fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
        }
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        match self.body {
            Some(body) => json_response(self.status, &body),
            None => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = self.status;
                response
            }
        }
    }
}

/// An error answer: its status and the `error` message of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// `Allow` header for a 405.
    pub(crate) allow: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            allow: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("method not allowed; allowed: {allow}"),
            allow: Some(allow),
        }
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = json_response(self.status, &json!({ "error": self.message }));
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// The result of every handler.
pub(crate) type Outcome = Result<Reply, ApiError>;

/// A JSON response with `Content-Type: application/json`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    // Serialising a `Value` cannot fail (its map keys are strings).
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
