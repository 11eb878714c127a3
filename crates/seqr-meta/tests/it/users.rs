use seqr_meta::users::{self, CreateUserError, NewUser, UpdateUserError, UserUpdate};
use seqr_meta::{Permission, roles};

use crate::support::temp_db;

fn new_user(name: &str, roles: &[&str]) -> NewUser {
    NewUser {
        username: name.into(),
        role_ids: roles.iter().map(|r| r.to_string()).collect(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        ..Default::default()
    }
}

#[test]
fn create_get_list_update_delete() {
    let (_dir, _path, db) = temp_db();
    let alice = users::create(&db, &new_user("Alice", &[roles::USER_READ_ONLY]), 100).unwrap();
    assert!(alice.id.starts_with("user-") && alice.id.len() > 5);
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.role_ids, vec![roles::USER_READ_ONLY.to_string()]);
    assert_eq!(alice.password_changed_at, Some(100));
    assert_eq!(alice.created_at, 100);
    assert_eq!(users::get(&db, &alice.id).unwrap().unwrap(), alice);
    assert_eq!(
        users::find_by_username(&db, "aLiCe").unwrap().unwrap().id,
        alice.id
    );

    let admin = users::create(
        &db,
        &NewUser {
            id: Some("user-admin".into()),
            ..new_user("admin", &[roles::ADMINISTRATOR])
        },
        100,
    )
    .unwrap();
    assert_eq!(admin.id, "user-admin");
    let all = users::list(&db).unwrap();
    assert_eq!(
        all.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(),
        ["admin", "Alice"]
    );

    let updated = users::update(
        &db,
        &alice.id,
        &UserUpdate {
            display_name: Some(Some("Alice A.".into())),
            email_address: Some(Some("alice@example.com".into())),
            role_ids: Some(vec![
                roles::USER_READ_WRITE.into(),
                roles::USER_READ_ONLY.into(),
            ]),
            must_change_password: Some(true),
            view_filter: Some(Some("Team = 'a'".into())),
            preferences: Some(
                serde_json::json!({"theme": "dark"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(updated.display_name.as_deref(), Some("Alice A."));
    assert_eq!(updated.email_address.as_deref(), Some("alice@example.com"));
    assert!(updated.must_change_password);
    assert_eq!(updated.view_filter.as_deref(), Some("Team = 'a'"));
    assert_eq!(updated.preferences["theme"], "dark");
    assert_eq!(updated.role_ids.len(), 2);
    assert_eq!(users::get(&db, &alice.id).unwrap().unwrap(), updated);

    // Clearing an optional field.
    let cleared = users::update(
        &db,
        &alice.id,
        &UserUpdate {
            view_filter: Some(None),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(cleared.view_filter, None);

    assert!(users::delete(&db, &alice.id).unwrap());
    assert!(!users::delete(&db, &alice.id).unwrap());
    assert!(users::get(&db, &alice.id).unwrap().is_none());
    assert_eq!(users::count(&db).unwrap(), 1);
}

#[test]
fn usernames_are_unique_without_regard_to_case() {
    let (_dir, _path, db) = temp_db();
    users::create(&db, &new_user("Bob", &[]), 1).unwrap();
    let err = users::create(&db, &new_user("bOB", &[]), 1).unwrap_err();
    assert!(matches!(err, CreateUserError::UsernameTaken), "{err}");
    // Unicode case folding too.
    users::create(&db, &new_user("Ärger", &[]), 1).unwrap();
    assert!(matches!(
        users::create(&db, &new_user("ärger", &[]), 1),
        Err(CreateUserError::UsernameTaken)
    ));
    let carol = users::create(&db, &new_user("carol", &[]), 1).unwrap();
    let err = users::update(
        &db,
        &carol.id,
        &UserUpdate {
            username: Some("BOB".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, UpdateUserError::UsernameTaken));
    // Renaming to a different case of one's own name is fine.
    let renamed = users::update(
        &db,
        &carol.id,
        &UserUpdate {
            username: Some("Carol".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(renamed.username, "Carol");
}

#[test]
fn invalid_input_is_refused() {
    let (_dir, _path, db) = temp_db();
    assert!(matches!(
        users::create(&db, &new_user("  ", &[]), 1),
        Err(CreateUserError::EmptyUsername)
    ));
    let err = users::create(&db, &new_user("dave", &["role-superuser"]), 1).unwrap_err();
    assert!(matches!(&err, CreateUserError::UnknownRole(r) if r == "role-superuser"));
    assert!(err.to_string().contains("role-superuser"));
    assert!(matches!(
        users::create(
            &db,
            &NewUser {
                id: Some("admin".into()),
                ..new_user("dave", &[])
            },
            1
        ),
        Err(CreateUserError::InvalidId(_))
    ));
    users::create(
        &db,
        &NewUser {
            id: Some("user-x".into()),
            ..new_user("x1", &[])
        },
        1,
    )
    .unwrap();
    assert!(matches!(
        users::create(
            &db,
            &NewUser {
                id: Some("user-x".into()),
                ..new_user("x2", &[])
            },
            1
        ),
        Err(CreateUserError::InvalidId(_))
    ));
    assert!(matches!(
        users::update(&db, "user-none", &UserUpdate::default()),
        Err(UpdateUserError::NotFound)
    ));
}

#[test]
fn effective_permissions_are_the_union_of_roles() {
    let (_dir, _path, db) = temp_db();
    let u = users::create(
        &db,
        &new_user("erin", &[roles::USER_READ_ONLY, roles::PROJECT_OWNER]),
        1,
    )
    .unwrap();
    let p = u.permissions();
    for perm in [
        Permission::Read,
        Permission::Write,
        Permission::Ingest,
        Permission::Project,
    ] {
        assert!(p.contains(perm), "{perm}");
    }
    assert!(!p.contains(Permission::System) && !p.contains(Permission::Organization));
    users::create(&db, &new_user("root", &[roles::ADMINISTRATOR]), 1).unwrap();
    assert_eq!(
        users::count_with_permission(&db, Permission::System).unwrap(),
        1
    );
}

#[test]
fn set_password_revokes_sessions_and_bumps_epoch() {
    let (_dir, _path, db) = temp_db();
    let u = users::create(&db, &new_user("frank", &[]), 1).unwrap();
    seqr_meta::sessions::create(
        &db,
        &seqr_meta::sessions::NewSession {
            id_digest: b"digest-1",
            user_id: &u.id,
            csrf_digest: b"csrf",
            client_address: None,
            now: 10,
            absolute_lifetime_secs: 3600,
        },
    )
    .unwrap();
    assert!(users::set_password(&db, &u.id, "$argon2id$new", false, 20).unwrap());
    let after = users::get(&db, &u.id).unwrap().unwrap();
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(after.password_changed_at, Some(20));
    assert_eq!(after.sessions_epoch, u.sessions_epoch + 1);
    assert!(
        seqr_meta::sessions::lookup(&db, b"digest-1", 21, 600)
            .unwrap()
            .is_none()
    );
    assert!(!users::set_password(&db, "user-none", "x", false, 20).unwrap());

    // Rehash keeps sessions and the change time.
    assert!(users::rehash_password(&db, &u.id, "$argon2id$stronger").unwrap());
    let rehashed = users::get(&db, &u.id).unwrap().unwrap();
    assert_eq!(rehashed.password_changed_at, Some(20));
    assert_eq!(rehashed.sessions_epoch, after.sessions_epoch);
}

#[test]
fn deleting_a_user_removes_roles_sessions_and_personal_keys() {
    let (_dir, path, db) = temp_db();
    let u = users::create(&db, &new_user("gina", &[roles::USER_READ_WRITE]), 1).unwrap();
    seqr_meta::sessions::create(
        &db,
        &seqr_meta::sessions::NewSession {
            id_digest: b"d",
            user_id: &u.id,
            csrf_digest: b"c",
            client_address: Some("127.0.0.1"),
            now: 1,
            absolute_lifetime_secs: 100,
        },
    )
    .unwrap();
    let key = seqr_meta::apikeys::create(
        &db,
        &seqr_meta::apikeys::NewApiKey {
            title: "personal".into(),
            token_prefix: "abcd".into(),
            token_salt: vec![1; 16],
            token_digest: vec![2; 32],
            owner_id: Some(u.id.clone()),
            ..Default::default()
        },
        1,
    )
    .unwrap();
    assert!(users::delete(&db, &u.id).unwrap());
    assert!(seqr_meta::apikeys::get(&db, &key.id).unwrap().is_none());
    let conn = rusqlite::Connection::open(&path).unwrap();
    for table in ["user_roles", "sessions"] {
        let n: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}
