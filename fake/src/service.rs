//! The one HTTP handler: reads the request, applies an injected fault, routes it, answers,
//! and writes the journal.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde_json::json;

use super::faults::{Fault, FaultAction, Faults};
use super::input::{BodyKind, Input, Pairs, parse_pairs};
use super::journal::{Journal, JournalEntry, redact_authorization};
use super::listener::ConnInfo;
use super::reply::{ApiError, json_response};
use super::routes::{Route, dispatch};
use super::state::State;

/// The largest request body read (1 MiB); a larger one is answered 413, a malformed one 400.
const MAX_BODY: usize = 1 << 20;

/// What the server thread and the handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Faults,
    pub(crate) journal: Journal,
    /// How long a request body may stall (see `Timeouts::idle`).
    pub(crate) idle_timeout: Option<Duration>,
    /// How long every reply is held back, as a network round trip would.
    pub(crate) latency: Duration,
}

impl Shared {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves every request (routing is done by [`Route::parse`], so that unknown routes and wrong
/// methods get JSON errors too).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: ConnInfo,
    request: Request,
) -> Response<Body> {
    let _busy = conn.busy();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let fault = shared.faults.take(parts.method.as_str(), path);

    let (body, response) = match read_body(body, MAX_BODY, shared.idle_timeout).await {
        Ok(body) => {
            let response = respond(
                &shared,
                fault,
                &parts.method,
                path,
                query,
                &parts.headers,
                &body,
            )
            .await;
            (body, response)
        }
        Err(e) => (Bytes::new(), Some(e.into_response())),
    };
    if !shared.latency.is_zero() {
        // Only this request waits: the state is not locked, other connections go on.
        tokio::time::sleep(shared.latency).await;
    }

    if shared.journal.enabled() {
        shared.journal.push(JournalEntry {
            method: parts.method.to_string(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: journal_headers(&parts.headers),
            body: body.to_vec(),
            peer: conn.peer,
            connection: conn.id,
            status: response.as_ref().map(|r| r.status().as_u16()),
        });
    }
    response.unwrap_or_else(|| {
        conn.kill();
        Response::new(Body::empty())
    })
}

/// Why a request body could not be read.
#[derive(Debug)]
enum BodyError {
    /// More than the limit (or a `Content-Length` saying so): 413.
    TooLarge(usize),
    /// Not a valid HTTP body (a malformed chunk, a body cut short): 400.
    Malformed(String),
    /// Nothing more came for this long: 408, and the connection is closed.
    Stalled(Duration),
}

impl BodyError {
    fn into_response(self) -> Response<Body> {
        let error = match self {
            BodyError::TooLarge(limit) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {limit} bytes"),
            ),
            BodyError::Malformed(problem) => {
                ApiError::bad_request(format!("malformed request body: {problem}"))
            }
            BodyError::Stalled(stall) => {
                let error = ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body stalled: nothing received for {} ms",
                        stall.as_millis()
                    ),
                );
                let mut response = error.into_response();
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return response;
            }
        };
        error.into_response()
    }
}

/// Reads a whole body of at most `limit` bytes. `stall` bounds the wait for each next piece
/// of it.
async fn read_body(
    mut body: Body,
    limit: usize,
    stall: Option<Duration>,
) -> Result<Bytes, BodyError> {
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    if body.size_hint().lower() > limit_u64 {
        return Err(BodyError::TooLarge(limit));
    }
    let mut bytes = Vec::new();
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
        let frame = match stall {
            Some(stall) => tokio::time::timeout(stall, next)
                .await
                .map_err(|_| BodyError::Stalled(stall))?,
            None => next.await,
        };
        match frame {
            None => break,
            Some(Err(e)) => return Err(BodyError::Malformed(e.to_string())),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.len().saturating_add(data.len()) > limit {
                        return Err(BodyError::TooLarge(limit));
                    }
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
    Ok(Bytes::from(bytes))
}

/// The reply to a request after its fault, `None` when the connection is to be dropped.
async fn respond(
    shared: &Shared,
    fault: Option<Fault>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Response<Body>> {
    let (before, after) = match fault {
        Some(f) if f.after_handling => (None, Some(f.action)),
        Some(f) => (Some(f.action), None),
        None => (None, None),
    };
    let handled = match before {
        Some(FaultAction::Drop) => return None,
        Some(action @ FaultAction::Status { .. }) => return Some(fault_response(&action)),
        Some(FaultAction::Delay(duration)) => {
            tokio::time::sleep(duration).await;
            serve(shared, method, path, query, headers, body)
        }
        None => serve(shared, method, path, query, headers, body),
    };
    match after {
        None => Some(handled),
        Some(FaultAction::Drop) => None,
        Some(FaultAction::Delay(duration)) => {
            tokio::time::sleep(duration).await;
            Some(handled)
        }
        Some(action) => Some(fault_response(&action)),
    }
}

/// Routes and handles a request against the state.
fn serve(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response<Body> {
    let route = match Route::parse(path) {
        Ok(route) => route,
        Err(e) => return e.into_response(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let input = Input {
        query: Pairs(parse_pairs(query)),
        kind: BodyKind::from_content_type(content_type),
        body: body.clone(),
    };
    let mut st = shared.state();
    let auth = bearer_token(headers).and_then(|token| {
        st.check_access_token(token)
            .map_err(|problem| ApiError::unauthorized(problem.message()))
    });
    match dispatch(&route, method, &mut st, auth, &input) {
        Ok(reply) => reply.into_response(),
        Err(error) => error.into_response(),
    }
}

/// The bearer token of the `Authorization` header, or the 401 for its absence.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing access token"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid access token"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthorized(
            "expected an Authorization: Bearer token",
        )),
    }
}

/// The reply of a status fault.
fn fault_response(action: &FaultAction) -> Response<Body> {
    let FaultAction::Status {
        status,
        retry_after,
    } = *action
    else {
        return Response::new(Body::empty());
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("error");
    let mut response = json_response(
        status,
        &json!({ "error": format!("{reason} (injected fault)") }),
    );
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn journal_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let value = if name == header::AUTHORIZATION {
                redact_authorization(&value)
            } else {
                value.into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}
