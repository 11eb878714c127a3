use seqr_meta::sessions::{self, CreateSessionError, NewSession};
use seqr_meta::users::{self, NewUser};

use crate::support::temp_db;

const IDLE: i64 = 600;

fn user(db: &seqr_meta::MetaDb, name: &str) -> String {
    users::create(
        db,
        &NewUser {
            username: name.into(),
            ..Default::default()
        },
        0,
    )
    .unwrap()
    .id
}

fn session<'a>(digest: &'a [u8], user_id: &'a str, now: i64) -> NewSession<'a> {
    NewSession {
        id_digest: digest,
        user_id,
        csrf_digest: b"csrf-digest",
        client_address: Some("10.0.0.1"),
        now,
        absolute_lifetime_secs: 3600,
    }
}

#[test]
fn lookup_touch_and_idle_expiry() {
    let (_dir, _path, db) = temp_db();
    let u = user(&db, "ivy");
    sessions::create(&db, &session(b"s1", &u, 1000)).unwrap();
    let s = sessions::lookup(&db, b"s1", 1000, IDLE).unwrap().unwrap();
    assert_eq!(s.user_id, u);
    assert_eq!(s.csrf_digest, b"csrf-digest");
    assert_eq!(s.client_address.as_deref(), Some("10.0.0.1"));
    assert_eq!(s.expires_at, 4600);
    // Still alive just before the idle timeout; touching extends it.
    assert!(sessions::lookup(&db, b"s1", 1599, IDLE).unwrap().is_some());
    assert!(sessions::touch(&db, b"s1", 1599).unwrap());
    assert!(sessions::lookup(&db, b"s1", 2198, IDLE).unwrap().is_some());
    // Idle for the whole timeout: gone, and deleted.
    assert!(sessions::lookup(&db, b"s1", 2199, IDLE).unwrap().is_none());
    assert!(!sessions::touch(&db, b"s1", 2200).unwrap());
    assert!(
        sessions::lookup(&db, b"unknown", 1000, IDLE)
            .unwrap()
            .is_none()
    );
}

#[test]
fn absolute_expiry_wins_over_activity() {
    let (_dir, _path, db) = temp_db();
    let u = user(&db, "jack");
    sessions::create(&db, &session(b"s", &u, 0)).unwrap();
    let mut now = 0;
    while now < 3600 {
        assert!(
            sessions::lookup(&db, b"s", now, IDLE).unwrap().is_some(),
            "{now}"
        );
        sessions::touch(&db, b"s", now).unwrap();
        now += 300;
    }
    assert!(sessions::lookup(&db, b"s", 3600, IDLE).unwrap().is_none());
}

#[test]
fn revoke_one_and_all() {
    let (_dir, _path, db) = temp_db();
    let u = user(&db, "kim");
    let other = user(&db, "lee");
    sessions::create(&db, &session(b"a", &u, 0)).unwrap();
    sessions::create(&db, &session(b"b", &u, 0)).unwrap();
    sessions::create(&db, &session(b"c", &other, 0)).unwrap();
    assert_eq!(sessions::list_for_user(&db, &u).unwrap().len(), 2);
    assert!(sessions::revoke(&db, b"a").unwrap());
    assert!(!sessions::revoke(&db, b"a").unwrap());
    assert!(sessions::lookup(&db, b"a", 1, IDLE).unwrap().is_none());
    assert!(sessions::lookup(&db, b"b", 1, IDLE).unwrap().is_some());
    assert_eq!(sessions::revoke_all_for_user(&db, &u).unwrap(), 1);
    assert!(sessions::lookup(&db, b"b", 1, IDLE).unwrap().is_none());
    assert!(sessions::lookup(&db, b"c", 1, IDLE).unwrap().is_some());
    assert_eq!(
        users::get(&db, &u).unwrap().unwrap().sessions_epoch,
        1,
        "revoking all bumps the epoch"
    );
    // New sessions after the revocation work.
    sessions::create(&db, &session(b"d", &u, 2)).unwrap();
    assert!(sessions::lookup(&db, b"d", 3, IDLE).unwrap().is_some());
}

#[test]
fn a_session_from_an_older_epoch_is_dead() {
    let (_dir, path, db) = temp_db();
    let u = user(&db, "mo");
    sessions::create(&db, &session(b"old", &u, 0)).unwrap();
    // Bump the epoch behind the repository's back (as another process might).
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE users SET sessions_epoch = sessions_epoch + 1 WHERE id = ?1",
        [&u],
    )
    .unwrap();
    assert!(sessions::lookup(&db, b"old", 1, IDLE).unwrap().is_none());
}

#[test]
fn only_the_digest_is_stored_and_unknown_users_are_refused() {
    let (_dir, path, db) = temp_db();
    assert!(matches!(
        sessions::create(&db, &session(b"x", "user-ghost", 0)),
        Err(CreateSessionError::UnknownUser)
    ));
    let u = user(&db, "nia");
    sessions::create(&db, &session(b"digest-bytes", &u, 0)).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let stored: Vec<u8> = conn
        .query_row("SELECT id_digest FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, b"digest-bytes");
}

#[test]
fn purge_removes_only_expired_sessions() {
    let (_dir, _path, db) = temp_db();
    let u = user(&db, "oz");
    sessions::create(&db, &session(b"old", &u, 0)).unwrap();
    sessions::create(&db, &session(b"new", &u, 1000)).unwrap();
    assert_eq!(sessions::purge_expired(&db, 1100, IDLE).unwrap(), 1);
    assert!(sessions::lookup(&db, b"new", 1100, IDLE).unwrap().is_some());
}
