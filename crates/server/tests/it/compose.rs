//! Docker is not available where the tests run, so the compose file's structure is
//! checked here: PostgreSQL, two Roster replicas sharing it, a load balancer in front.

use serde_norway::Value;

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker-compose.yml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn env_of<'a>(service: &'a Value, key: &str) -> Option<&'a str> {
    service["environment"][key].as_str()
}

#[test]
fn compose_runs_postgres_two_roster_replicas_and_a_load_balancer() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();

    let postgres = &compose["services"]["postgres"];
    assert!(postgres["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(!postgres["healthcheck"]["test"].is_null());
    let volumes = postgres["volumes"].as_sequence().unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v.as_str().unwrap().ends_with("/var/lib/postgresql/data"))
    );
    assert!(!compose["volumes"].as_mapping().unwrap().is_empty());

    let replicas: Vec<&Value> = services
        .iter()
        .filter(|(name, _)| name.as_str().unwrap().starts_with("roster"))
        .map(|(_, service)| service)
        .collect();
    assert_eq!(replicas.len(), 2, "two roster replicas");
    for replica in &replicas {
        assert!(!replica["build"].is_null() || !replica["image"].is_null());
        let url = env_of(replica, "ROSTER_DATABASE_URL").unwrap();
        assert!(
            url.starts_with("postgres://") && url.contains("@postgres:5432/"),
            "{url}"
        );
        assert_eq!(env_of(replica, "ROSTER_LISTEN"), Some("0.0.0.0:8080"));
        assert!(env_of(replica, "ROSTER_PUBLIC_URL").is_some());
        let health = replica["healthcheck"]["test"].as_sequence().unwrap();
        assert!(
            health
                .iter()
                .any(|part| part.as_str() == Some("healthcheck"))
        );
        assert_eq!(
            replica["depends_on"]["postgres"]["condition"].as_str(),
            Some("service_healthy")
        );
        // PostgreSQL needs the secret key; compose refuses to start without it, and both
        // replicas get the same one.
        let key = env_of(replica, "ROSTER_SECRET_KEY").unwrap();
        assert!(key.starts_with("${ROSTER_SECRET_KEY:?"), "{key}");
        assert_eq!(Some(key), env_of(replicas[0], "ROSTER_SECRET_KEY"));
    }

    let lb = &compose["services"]["lb"];
    let ports = lb["ports"].as_sequence().unwrap();
    assert!(!ports.is_empty());
    let depends = lb["depends_on"].as_mapping().unwrap();
    assert_eq!(depends.len(), 2);

    // Every environment key the compose file sets is a real setting of the binary.
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Dockerfile")).unwrap();
    assert!(
        dockerfile.matches("FROM ").count() >= 2,
        "a multi-stage build"
    );
    assert!(dockerfile.contains("HEALTHCHECK"));
    assert!(
        dockerfile.contains("install -d -m 0700 -o roster -g roster /var/lib/roster/data"),
        "the data folder is owner-only"
    );
}
