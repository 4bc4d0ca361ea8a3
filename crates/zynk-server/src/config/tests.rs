use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn printed_default_is_the_default() {
    let parsed = Config::from_sources(DEFAULT_TOML, &env(&[])).unwrap();
    assert_eq!(parsed, Config::default());
    for (key, _) in KEYS {
        assert!(
            DEFAULT_TOML.contains(&format!("{key} =")),
            "{key} missing from DEFAULT_TOML"
        );
    }
}

#[test]
fn env_overrides_file_overrides_default() {
    let file = "listen = \"127.0.0.1:9000\"\npbkdf2_iterations = 2000\n";
    let c = Config::from_sources(
        file,
        &env(&[
            ("ZYNK_PBKDF2_ITERATIONS", "3000"),
            ("ZYNK_REDIS_URL", "redis://h:1"),
        ]),
    )
    .unwrap();
    assert_eq!(c.listen.port(), 9000);
    assert_eq!(c.pbkdf2_iterations, 3000);
    assert_eq!(c.redis_url.as_deref(), Some("redis://h:1"));
    assert_eq!(c.session_ttl_secs, 2_592_000);
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("", vec![("ZYNK_LISTEN", "nope")], "listen"),
        (
            "",
            vec![("ZYNK_PBKDF2_ITERATIONS", "many")],
            "ZYNK_PBKDF2_ITERATIONS",
        ),
        (
            "",
            vec![("ZYNK_PBKDF2_ITERATIONS", "10")],
            "pbkdf2_iterations",
        ),
        ("", vec![("ZYNK_DATABASE_URL", "mysql://x")], "database_url"),
        ("", vec![("ZYNK_JWT_SECRET", "short")], "jwt_secret"),
        ("colour = 1", vec![], "colour"),
        ("session_ttl_secs = \"x\"", vec![], "session_ttl_secs"),
    ];
    for (file, vars, key) in cases {
        let err = Config::from_sources(file, &env(&vars)).unwrap_err().0;
        assert!(err.contains(key), "{err:?} does not name {key}");
    }
}

#[test]
fn debug_redacts_secrets() {
    let c = Config {
        database_url: Some("postgres://zynk:hunter2hunter2@db/zynk".into()),
        redis_url: Some("redis://:s3cretpass@r:6379".into()),
        jwt_secret: Some("x".repeat(40)),
        turn_secret: Some("turnsecret-42".into()),
        ..Config::default()
    };
    let shown = format!("{c:?}");
    assert!(!shown.contains("turnsecret-42"), "{shown}");
    assert!(
        !shown.contains("hunter2")
            && !shown.contains("s3cretpass")
            && !shown.contains(&"x".repeat(40)),
        "{shown}"
    );
}
