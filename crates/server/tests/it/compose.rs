//! The container deployment. Docker is not available where the tests run, so the files
//! are checked here for what they must say (this file), and the topology they describe —
//! PostgreSQL, two `roster serve` nodes, nginx with `deploy/nginx.conf` — is run without
//! Docker in `topology.rs`.

use serde_norway::Value;

mod topology;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn compose() -> Value {
    let mut value: Value = serde_norway::from_str(&read("docker-compose.yml")).unwrap();
    // The replicas share one definition (`x-roster`, merged with `<<`).
    value.apply_merge().unwrap();
    value
}

fn env_of<'a>(service: &'a Value, key: &str) -> Option<&'a str> {
    service["environment"][key].as_str()
}

/// Seconds of a compose duration such as `40s` or `1m30s`.
fn seconds(duration: &str) -> u64 {
    let mut total = 0;
    let mut number = String::new();
    for c in duration.chars() {
        match c {
            '0'..='9' => number.push(c),
            'm' => total += number.parse::<u64>().unwrap() * 60,
            's' => total += number.parse::<u64>().unwrap(),
            _ => panic!("unexpected duration {duration}"),
        }
        if !c.is_ascii_digit() {
            number.clear();
        }
    }
    total
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
    // No default password: compose refuses to start without one.
    let password = env_of(postgres, "POSTGRES_PASSWORD").unwrap();
    assert!(password.starts_with("${POSTGRES_PASSWORD:?"), "{password}");

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
            url.starts_with("postgres://roster:${POSTGRES_PASSWORD:?")
                && url.contains("@postgres:5432/"),
            "{url}"
        );
        assert_eq!(env_of(replica, "ROSTER_LISTEN"), Some("0.0.0.0:8080"));
        // The public URL follows the published port unless set.
        let public = env_of(replica, "ROSTER_PUBLIC_URL").unwrap();
        assert_eq!(
            public,
            "${ROSTER_PUBLIC_URL:-http://localhost:${ROSTER_PORT:-8080}}"
        );
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
        // Docker waits longer than the node lets in-flight requests run.
        let timeout: u64 = env_of(replica, "ROSTER_SHUTDOWN_TIMEOUT_SECS")
            .unwrap_or("30")
            .parse()
            .unwrap();
        let grace = seconds(replica["stop_grace_period"].as_str().unwrap());
        assert!(grace > timeout, "stop_grace_period {grace}s ≤ {timeout}s");
    }

    let lb = &compose["services"]["lb"];
    let ports = lb["ports"].as_sequence().unwrap();
    assert_eq!(ports[0].as_str(), Some("${ROSTER_PORT:-8080}:80"));
    let depends = lb["depends_on"].as_mapping().unwrap();
    assert_eq!(depends.len(), 2);
    let check = lb["healthcheck"]["test"].as_sequence().unwrap();
    assert!(
        check
            .iter()
            .any(|part| part.as_str() == Some("http://127.0.0.1/healthz")),
        "the balancer's own check uses a path it serves"
    );
}

#[test]
fn nginx_keeps_metrics_and_readiness_off_the_public_address() {
    for file in ["deploy/nginx.conf", "deploy/nginx-tls.conf"] {
        let conf = read(file);
        for path in ["/metrics", "/readyz"] {
            assert!(
                conf.contains(&format!("location = {path} {{ return 404; }}")),
                "{file} must not proxy {path}"
            );
        }
        assert!(conf.contains("proxy_set_header Host $host;"), "{file}");
    }
    let tls = read("deploy/nginx-tls.conf");
    assert!(tls.contains("listen 443 ssl"));
    assert!(tls.contains("X-Forwarded-Proto https"));
}

/// What the Dockerfile's runtime stage does to the filesystem, read from its
/// instructions (a Docker daemon is not available to build it): the data folder exists,
/// belongs to the user the node runs as, is owner-only, is where the default database
/// lives, and is created before `VOLUME` (so a new volume copies its owner and mode).
#[test]
fn the_image_gives_its_user_the_data_folder_and_a_stripped_binary() {
    let dockerfile = read("Dockerfile");
    let stages: Vec<&str> = dockerfile.split("\nFROM ").collect();
    assert!(stages.len() >= 3, "build, debug-info, runtime stages");
    let runtime = stages.last().unwrap();
    assert!(runtime.starts_with("debian:"), "{runtime}");
    let lines: Vec<&str> = runtime.lines().map(str::trim).collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("the runtime stage has no {needle:?}"))
    };
    let created = position("install -d -m 0700 -o roster -g roster /var/lib/roster/data");
    let user = position("USER roster");
    let volume = position("VOLUME [\"/var/lib/roster/data\"]");
    let useradd = position("useradd --system --uid 10001");
    assert!(useradd <= created && created < user && created < volume);
    assert!(runtime.contains("ROSTER_DATABASE_URL=sqlite:///var/lib/roster/data/roster.db"));
    assert!(runtime.contains("HEALTHCHECK"));
    assert!(runtime.contains("ENTRYPOINT [\"roster\"]"));

    // Debug info is split off in the build stage, not shipped.
    let build = stages
        .iter()
        .find(|stage| stage.starts_with("rust:"))
        .unwrap();
    assert!(build.contains("objcopy --only-keep-debug"), "{build}");
    assert!(build.contains("--strip-debug"), "{build}");
    assert!(dockerfile.contains("AS debug-info"));
}
