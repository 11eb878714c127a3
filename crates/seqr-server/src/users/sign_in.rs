//! Signing in and out: `api/users/login`, `logout`, `current`, `providers` (seq-compat 2.8,
//! 4.5).
//!
//! Sign-in is throttled per client address and per username before any password is checked;
//! unknown users cost the same hashing time as known ones and get the same answer as a wrong
//! password. A session is a random 256-bit id in an `HttpOnly; SameSite=Lax` cookie; only its
//! digest (and the digest of its CSRF token) is stored. Every outcome is audited; no password
//! is ever logged or recorded.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seqr_meta::audit::AuditOutcome;
use seqr_meta::{password, sessions, token, users};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::credentials::{SECURE_SESSION_COOKIE, SESSION_COOKIE};
use crate::auth::csrf;
use crate::auth::enforce::{
    SESSION_ABSOLUTE_LIFETIME_SECS, own_origin, record, signed_in, unix_now,
};
use crate::error::ApiError;
use crate::forwarded::Secure;
use crate::users::user_entity;

/// The one answer to a failed sign-in, whether the user exists or not.
const INVALID_CREDENTIALS: &str = "Invalid username or password.";

/// `CredentialsPart`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    new_password: Option<String>,
}

/// The `Set-Cookie` value carrying a new session id. Over HTTPS the cookie is
/// `__Host-seqr-session` and `Secure`; it never has `Domain`, so it stays with this host.
pub(crate) fn session_cookie(session_id: &str, https: bool) -> String {
    if https {
        format!("{SECURE_SESSION_COOKIE}={session_id}; HttpOnly; SameSite=Lax; Path=/; Secure")
    } else {
        format!("{SESSION_COOKIE}={session_id}; HttpOnly; SameSite=Lax; Path=/")
    }
}

/// The `Set-Cookie` value that makes the browser forget its session cookie.
pub(crate) fn expired_session_cookie(https: bool) -> String {
    if https {
        format!("{SECURE_SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Secure; Max-Age=0")
    } else {
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// The client's address comes from the listener (`ConnectInfo`); while a listener does not record
// it, throttling by address sees one unknown address (the unspecified one) and throttling by
// username still applies.

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::internal("Signing in failed because of a server problem; retry shortly.")
}

/// `POST api/users/login`: `CredentialsPart` in, `UserEntity` with `CsrfToken` and a session
/// cookie out.
pub(crate) async fn login(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    Secure(secure): Secure,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let client = connect.map(|Extension(ConnectInfo(a))| a);
    let ip = client.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip());
    let credentials: Credentials = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request(
            "The body must be a JSON object with `Username` and `Password` (and `NewPassword` to \
             change the password).",
        )
    })?;
    if credentials.username.trim().is_empty() {
        return Err(ApiError::bad_request("A `Username` is required."));
    }
    // Another site must not sign a visitor in to an account of its choosing.
    csrf::check_origin(&headers, &own_origin(&headers, secure))
        .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, e.to_string()))?;

    let username = credentials.username.trim().to_owned();
    if let Err(too_soon) = state.throttle.check(ip, &username, Instant::now()) {
        let seconds = too_soon.retry_after.as_secs_f64().ceil().max(1.0) as u32;
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-in attempts; wait {seconds} second(s) before trying again."
            ),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return Ok(response);
    }

    let user =
        users::find_by_username(&state.meta, &username).map_err(|e| internal("user lookup", e))?;
    let verified = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(phc) => match state.hasher.verify(phc, credentials.password.clone()).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash cannot be used");
                password::Verified {
                    ok: false,
                    needs_rehash: false,
                }
            }
        },
        None => {
            state.hasher.burn(credentials.password.clone()).await;
            password::Verified {
                ok: false,
                needs_rehash: false,
            }
        }
    };
    let known_id = user.as_ref().map(|u| u.id.clone());
    let Some(user) = user.filter(|_| verified.ok) else {
        state.throttle.failed(ip, &username, Instant::now());
        record(
            &state.meta,
            None,
            client,
            "user.login",
            known_id.as_deref(),
            AuditOutcome::Failure,
            // An unknown name is not recorded: people type their password there by mistake.
            if known_id.is_some() {
                json!({ "Username": username })
            } else {
                json!({ "Username": null, "UnknownUser": true })
            },
        );
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS));
    };
    state.throttle.succeeded(ip, &username);

    let new_password = credentials.new_password.filter(|p| !p.is_empty());
    if verified.needs_rehash && new_password.is_none() {
        match state.hasher.hash(credentials.password.clone()).await {
            Ok(phc) => {
                if let Err(e) = users::rehash_password(&state.meta, &user.id, &phc) {
                    tracing::error!(error = %e, "storing a stronger password hash failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "rehashing a password failed"),
        }
    }

    let user = match new_password {
        Some(new) => {
            if let Err(policy) = password::check_policy(&user.username, &new) {
                return Err(ApiError::bad_request(format!(
                    "The new password cannot be used: {policy}."
                )));
            }
            if token::constant_time_eq(new.as_bytes(), credentials.password.as_bytes()) {
                return Err(ApiError::bad_request(
                    "The new password must differ from the current one.",
                ));
            }
            let phc = state
                .hasher
                .hash(new)
                .await
                .map_err(|e| internal("password hashing", e))?;
            users::set_password(&state.meta, &user.id, &phc, false, unix_now())
                .map_err(|e| internal("storing the new password", e))?;
            record(
                &state.meta,
                Some(&user.id),
                client,
                "user.password.change",
                Some(&user.id),
                AuditOutcome::Success,
                json!({ "Reason": "sign-in" }),
            );
            users::get(&state.meta, &user.id)
                .map_err(|e| internal("user lookup", e))?
                .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS))?
        }
        None if user.must_change_password => {
            record(
                &state.meta,
                Some(&user.id),
                client,
                "user.login",
                Some(&user.id),
                AuditOutcome::Failure,
                json!({ "Username": user.username, "Reason": "a new password is required" }),
            );
            return Err(ApiError::bad_request(
                "The password must be changed before signing in: send `NewPassword` with the \
                 current `Username` and `Password`.",
            ));
        }
        None => user,
    };

    let session_id = token::SessionId::generate();
    let csrf_token = token::generate_csrf_token();
    let address = client.map(|a| a.ip().to_string());
    sessions::create(
        &state.meta,
        &sessions::NewSession {
            id_digest: &session_id.digest(),
            user_id: &user.id,
            csrf_digest: &token::session_digest(&csrf_token),
            client_address: address.as_deref(),
            now: unix_now(),
            absolute_lifetime_secs: SESSION_ABSOLUTE_LIFETIME_SECS,
        },
    )
    .map_err(|e| internal("session creation", e))?;
    record(
        &state.meta,
        Some(&user.id),
        client,
        "user.login",
        Some(&user.id),
        AuditOutcome::Success,
        json!({ "Username": user.username }),
    );
    let response = Json(user_entity(&user, Some(&csrf_token))).into_response();
    Ok(with_cookie(
        response,
        &session_cookie(session_id.as_str(), secure),
    ))
}

/// `POST api/users/logout`: ends the cookie's session (a no-op without one) and clears the cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    Secure(secure): Secure,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let client = connect.map(|Extension(ConnectInfo(a))| a);
    let now = unix_now();
    let current =
        signed_in(&state.meta, &headers, secure, now).map_err(|e| internal("session lookup", e))?;
    if let Some(current) = current {
        sessions::revoke(&state.meta, &current.session.id_digest)
            .map_err(|e| internal("ending the session", e))?;
        record(
            &state.meta,
            Some(&current.user.id),
            client,
            "user.logout",
            Some(&current.user.id),
            AuditOutcome::Success,
            json!({}),
        );
    }
    Ok(with_cookie(
        StatusCode::OK.into_response(),
        &expired_session_cookie(secure),
    ))
}

/// `GET api/users/current`: the signed-in user, or 401 when nobody is.
pub(crate) async fn current(
    State(state): State<AppState>,
    Secure(secure): Secure,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    match signed_in(&state.meta, &headers, secure, unix_now())
        .map_err(|e| internal("session lookup", e))?
    {
        Some(current) => Ok(Json(user_entity(&current.user, None))),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Nobody is signed in: sign in at `api/users/login`.",
        )),
    }
}

/// `GET api/users/providers`: only local username and password sign-in exists.
pub(crate) async fn providers() -> Json<Value> {
    Json(json!({
        "Providers": [
            { "Name": "Local", "Url": "api/users/login", "IsAlternative": false }
        ]
    }))
}
