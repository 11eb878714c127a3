//! `api/users`: signing in and out ([`sign_in`]) and user accounts ([`accounts`]), with Seq's
//! `UserEntity` shape (seq-compat 4.5).

mod accounts;
mod sign_in;

use seqr_meta::users::UserEntity;
use serde_json::{Value, json};

pub(crate) use accounts::{create, delete, get, list, template, update};
pub(crate) use sign_in::{current, login, logout, providers};

/// `UserEntity` as answered to clients: never any hash.
pub(crate) fn user_entity(user: &UserEntity, csrf_token: Option<&str>) -> Value {
    let view_filter = user.view_filter.as_ref().map(|filter| {
        json!({
            "Description": null,
            "DescriptionIsExcluded": false,
            "Filter": filter,
            "FilterNonStrict": null,
        })
    });
    let mut entity = json!({
        "Id": user.id,
        "Username": user.username,
        "DisplayName": user.display_name,
        "EmailAddress": user.email_address,
        "RoleIds": user.role_ids,
        "MustChangePassword": user.must_change_password,
        "ViewFilter": view_filter,
        "Preferences": user.preferences,
        "AuthenticationProvider": user.authentication_provider,
        "AuthenticationProviderUniqueIdentifier": user.authentication_provider_unique_identifier,
        "Links": { "Self": format!("api/users/{}", user.id) },
    });
    if let Some(token) = csrf_token {
        entity["CsrfToken"] = Value::from(token);
    }
    entity
}

/// `GET api/users/resources`: the Users group's links that exist in this build.
pub(crate) async fn resources() -> axum::Json<Value> {
    axum::Json(json!({
        "Links": {
            "Items": "api/users/",
            "Item": "api/users/{id}",
            "Template": "api/users/template",
            "Current": "api/users/current",
            "Login": "api/users/login",
            "Logout": "api/users/logout",
            "AuthenticationProviders": "api/users/providers",
        }
    }))
}
