//! `secret_rotation`: every sealed value re-encrypted under a new key in one transaction.

use seqr_meta::MetaDb;
use seqr_meta::secret::{CHECK_VALUE_KEY, OpenError, SecretKey};
use seqr_meta::secret_rotation::{self, CheckKeyError, RotateError};
use seqr_meta::settings::{self, SettingName, SettingValue};

use crate::support::temp_db;

const OIDC: SettingName = SettingName::OpenIdConnectClientSecret;
const ENTRA: SettingName = SettingName::EntraIDClientKey;

/// A database set up under `key` as the server does it: the check value, two sealed secrets and
/// a plain setting.
fn set_up(db: &MetaDb, key: &SecretKey) {
    settings::insert_internal_if_absent(db, CHECK_VALUE_KEY, &key.check_value(), 1).unwrap();
    let oidc = settings::seal_value(key, OIDC, b"oidc client secret");
    settings::set(db, OIDC, &oidc, Some("user-admin"), 2).unwrap();
    let entra = settings::seal_value(key, ENTRA, b"entra key");
    settings::seed_if_unset(db, ENTRA, &entra, 3).unwrap();
    let title = SettingValue::Json("Production".into());
    settings::set(db, SettingName::InstanceTitle, &title, None, 4).unwrap();
}

fn sealed(db: &MetaDb, name: SettingName) -> Vec<u8> {
    match settings::get(db, name).unwrap().unwrap().value {
        SettingValue::Sealed(bytes) => bytes,
        other => panic!("{name} is not sealed: {other:?}"),
    }
}

/// Everything rotation could touch, to show a refused rotation changed nothing.
fn snapshot(db: &MetaDb) -> (Vec<(SettingName, settings::StoredSetting)>, Option<Vec<u8>>) {
    (
        settings::list(db).unwrap(),
        settings::get_internal(db, CHECK_VALUE_KEY).unwrap(),
    )
}

#[test]
fn the_aad_of_a_sealed_setting_is_its_id() {
    assert_eq!(
        settings::sealed_aad(OIDC),
        b"setting-openidconnectclientsecret"
    );
    let key = SecretKey::generate();
    let SettingValue::Sealed(bytes) = settings::seal_value(&key, OIDC, b"x") else {
        panic!("not sealed")
    };
    assert_eq!(key.open(&bytes, &settings::sealed_aad(OIDC)).unwrap(), b"x");
    // Moved to another setting's row it does not open.
    assert_eq!(
        settings::open_value(&key, ENTRA, &bytes),
        Err(OpenError::Failed)
    );
}

#[test]
fn rotation_reseals_every_secret_and_the_check_value() {
    let (_dir, path, db) = temp_db();
    let (a, b) = (SecretKey::generate(), SecretKey::generate());
    set_up(&db, &a);
    let before_oidc = settings::get(&db, OIDC).unwrap().unwrap();

    let rotated = secret_rotation::rotate(&db, &a, &b, 100).unwrap();
    assert_eq!(rotated.sealed_settings, 2);
    drop(db);

    // Reopened from the file: B opens everything, A nothing.
    let db = MetaDb::open(&path).unwrap();
    secret_rotation::check_key(&db, &b).unwrap();
    assert!(matches!(
        secret_rotation::check_key(&db, &a),
        Err(CheckKeyError::WrongKey(_))
    ));
    assert_eq!(
        settings::open_value(&b, OIDC, &sealed(&db, OIDC)).unwrap(),
        b"oidc client secret"
    );
    assert_eq!(
        settings::open_value(&b, ENTRA, &sealed(&db, ENTRA)).unwrap(),
        b"entra key"
    );
    assert_eq!(
        settings::open_value(&a, OIDC, &sealed(&db, OIDC)),
        Err(OpenError::Failed)
    );
    // Only the ciphertext changed: who set it, when, and whether explicitly, stay.
    let after_oidc = settings::get(&db, OIDC).unwrap().unwrap();
    assert_eq!(after_oidc.updated_at, before_oidc.updated_at);
    assert_eq!(after_oidc.updated_by.as_deref(), Some("user-admin"));
    assert!(after_oidc.explicitly_set);
    assert!(!settings::get(&db, ENTRA).unwrap().unwrap().explicitly_set);
    assert_eq!(
        settings::get(&db, SettingName::InstanceTitle)
            .unwrap()
            .unwrap()
            .value,
        SettingValue::Json("Production".into())
    );

    // And back again.
    secret_rotation::rotate(&db, &b, &a, 200).unwrap();
    secret_rotation::check_key(&db, &a).unwrap();
    assert_eq!(
        settings::open_value(&a, OIDC, &sealed(&db, OIDC)).unwrap(),
        b"oidc client secret"
    );
}

#[test]
fn a_wrong_old_key_changes_nothing() {
    let (_dir, _path, db) = temp_db();
    let (a, b, c) = (
        SecretKey::generate(),
        SecretKey::generate(),
        SecretKey::generate(),
    );
    set_up(&db, &a);
    let before = snapshot(&db);
    let err = secret_rotation::rotate(&db, &c, &b, 100).unwrap_err();
    assert!(matches!(err, RotateError::WrongKey(_)), "{err}");
    assert!(err.to_string().contains("secret key"), "{err}");
    assert_eq!(snapshot(&db), before);
    secret_rotation::check_key(&db, &a).unwrap();
}

#[test]
fn one_unreadable_value_rolls_the_whole_rotation_back() {
    let (_dir, _path, db) = temp_db();
    let (a, b) = (SecretKey::generate(), SecretKey::generate());
    set_up(&db, &a);
    // The OIDC secret (sorted after the Entra key, so the Entra key is resealed first) was sealed
    // under some other key.
    let stray = settings::seal_value(&SecretKey::generate(), OIDC, b"stray");
    settings::set(&db, OIDC, &stray, Some("user-admin"), 5).unwrap();
    let before = snapshot(&db);

    let err = secret_rotation::rotate(&db, &a, &b, 100).unwrap_err();
    match &err {
        RotateError::Unreadable { id, error } => {
            assert_eq!(id, "setting-openidconnectclientsecret");
            assert_eq!(*error, OpenError::Failed);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(snapshot(&db), before);
    secret_rotation::check_key(&db, &a).unwrap();
    assert_eq!(
        settings::open_value(&a, ENTRA, &sealed(&db, ENTRA)).unwrap(),
        b"entra key"
    );
}

#[test]
fn the_same_key_or_no_check_value_is_refused() {
    let (_dir, _path, db) = temp_db();
    let a = SecretKey::generate();
    let err = secret_rotation::rotate(&db, &a, &SecretKey::generate(), 1).unwrap_err();
    assert!(matches!(err, RotateError::NoCheckValue), "{err}");
    assert!(matches!(
        secret_rotation::check_key(&db, &a),
        Err(CheckKeyError::NoCheckValue)
    ));

    set_up(&db, &a);
    let copy = SecretKey::from_base64(&a.to_base64()).unwrap();
    let before = snapshot(&db);
    let err = secret_rotation::rotate(&db, &a, &copy, 1).unwrap_err();
    assert!(matches!(err, RotateError::SameKey), "{err}");
    assert_eq!(snapshot(&db), before);
}
