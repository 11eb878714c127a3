//! Seq's error shape: a status code and `{"Error":"..."}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answered to an API caller. Messages are written for the caller: what was wrong and,
/// where useful, what to do; never internal paths or stack traces.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after_seconds: Option<u32>,
    reason: Option<crate::metrics::Reason>,
}

/// What an error answer said, attached to the response so that the layers watching ingestion
/// (metrics, the ingestion log) need not parse the body back.
#[derive(Clone, Debug)]
pub(crate) struct ErrorDetail {
    pub(crate) message: String,
    /// Why, when the status alone does not tell (the kinds of 503).
    pub(crate) reason: Option<crate::metrics::Reason>,
}

impl ApiError {
    /// A permanent problem with the request (clients do not retry 400).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// The request or one of its parts is over a configured size limit.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// The thing named does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// A transient condition: clients retry 503 after `Retry-After`.
    pub fn unavailable(message: impl Into<String>, retry_after_seconds: u32) -> ApiError {
        ApiError {
            retry_after_seconds: Some(retry_after_seconds),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// An unexpected failure inside the server.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// Any status with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after_seconds: None,
            reason: None,
        }
    }

    /// Names why an ingestion request was refused, for metrics and the ingestion log.
    pub(crate) fn because(mut self, reason: crate::metrics::Reason) -> ApiError {
        self.reason = Some(reason);
        self
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message the caller is shown.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "Error": self.message }).to_string();
        let mut response = (self.status, body).into_response();
        response.extensions_mut().insert(ErrorDetail {
            message: self.message,
            reason: self.reason,
        });
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Rewrites the plain-text rejections axum's extractors produce (an unreadable or oversized
/// body, say) into Seq's `{"Error":"..."}` shape, so every client-visible error has one form.
pub(crate) async fn json_rejections(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Rejection texts are short; anything longer is cut rather than buffered.
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("The request failed.")
            .to_owned()
    } else {
        format!("{text}.")
    };
    let mut rewritten = ApiError::new(status, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// Runs `work` on tokio's blocking pool (SQLite and file work must not hold an async worker).
/// Should it panic, the request is answered 500 with `failure` and the panic is logged.
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    failure: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "{failure}");
        ApiError::internal(failure)
    })
}
