//! The instance secret key at start-up: generated into the data directory when none is given,
//! and a different key later is refused with a message naming it.

use std::time::Duration;

use seqr_server::{ListenAddr, SecretKeySource, ServeConfig};

fn start_and_stop(dir: &std::path::Path, secret_key: SecretKeySource) -> Result<(), String> {
    let config = ServeConfig {
        listen: vec![ListenAddr::parse("127.0.0.1:0").unwrap()],
        storage: dir.to_owned(),
        limits: Default::default(),
        instance_name: None,
        search_timeout: Duration::from_secs(5),
        canonical_uri: None,
        store: Default::default(),
        secret_key,
        password_params: Default::default(),
        sign_in_throttle: Default::default(),
        authentication: false,
        first_run: Default::default(),
        retention: Default::default(),
        inputs: Vec::new(),
        network: Default::default(),
        self_log: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(seqr_server::serve(config, async {}))
        .map_err(|e| e.to_string())
}

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxoeHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

#[test]
fn a_generated_key_lives_in_the_data_directory_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    start_and_stop(dir.path(), SecretKeySource::DataDirectory).unwrap();
    let key_file = dir.path().join("secret.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = std::fs::read(&key_file).unwrap();
    // The metadata database never holds the key itself.
    let db = std::fs::read(dir.path().join("meta.db")).unwrap();
    let key_text = String::from_utf8_lossy(&key).trim().to_owned();
    assert!(!db.windows(key_text.len()).any(|w| w == key_text.as_bytes()));
    // The same key works again.
    start_and_stop(dir.path(), SecretKeySource::DataDirectory).unwrap();
}

#[test]
fn a_different_key_is_refused_at_start_naming_the_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    start_and_stop(dir.path(), SecretKeySource::Value(KEY_A.into())).unwrap();
    let err = start_and_stop(dir.path(), SecretKeySource::Value(KEY_B.into())).unwrap_err();
    assert!(err.to_lowercase().contains("secret key"), "{err}");
    start_and_stop(dir.path(), SecretKeySource::Value(KEY_A.into())).unwrap();
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, KEY_A).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let data = dir.path().join("data");
    let err = start_and_stop(&data, SecretKeySource::File(key_file.clone())).unwrap_err();
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    start_and_stop(&data, SecretKeySource::File(key_file)).unwrap();
}

#[test]
fn a_key_provider_program_supplies_the_key() {
    let dir = tempfile::tempdir().unwrap();
    start_and_stop(
        dir.path(),
        SecretKeySource::Provider(format!("echo {KEY_A}")),
    )
    .unwrap();
    start_and_stop(dir.path(), SecretKeySource::Value(KEY_A.into())).unwrap();
    let err = start_and_stop(dir.path(), SecretKeySource::Provider("exit 3".into())).unwrap_err();
    assert!(err.to_lowercase().contains("secret key"), "{err}");
}

#[test]
fn a_new_data_directory_and_its_metadata_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("fresh");
    start_and_stop(&dir, SecretKeySource::DataDirectory).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("meta.db")), 0o600);

    // An existing database readable by others is tightened at the next start.
    let db = dir.join("meta.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    start_and_stop(&dir, SecretKeySource::DataDirectory).unwrap();
    assert_eq!(mode(&db), 0o600);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("meta.db") {
            assert_eq!(mode(&path) & 0o077, 0, "{name}");
        }
    }
}
