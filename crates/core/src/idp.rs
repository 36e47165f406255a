//! Which identity provider is calling, as far as its request tells, and which of its
//! requests are the "test the connection" button rather than provisioning.
//!
//! Error texts name the caller's identity provider ("turn it off in Okta") when its
//! `User-Agent` (or Entra's `aadOptscim062020` flag) says which it is, and say "your
//! identity provider" otherwise — never another provider's name.

/// The caller's identity provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdentityProvider {
    Okta,
    Entra,
    OneLogin,
    JumpCloud,
    Google,
    /// Unknown: texts say "your identity provider".
    #[default]
    Unknown,
}

impl IdentityProvider {
    /// Recognises the caller from its `User-Agent` and the query string.
    pub fn recognise(user_agent: Option<&str>, query: &str) -> Self {
        let agent = user_agent.unwrap_or_default().to_ascii_lowercase();
        if agent.contains("okta") {
            Self::Okta
        } else if agent.contains("azure")
            || agent.contains("microsoft")
            || agent.contains("entra")
            || query.contains("aadOptscim062020")
        {
            Self::Entra
        } else if agent.contains("onelogin") {
            Self::OneLogin
        } else if agent.contains("jumpcloud") {
            Self::JumpCloud
        } else if agent.contains("google") {
            Self::Google
        } else {
            Self::Unknown
        }
    }

    /// The provider's name, or "your identity provider".
    pub fn name(self) -> &'static str {
        match self {
            Self::Okta => "Okta",
            Self::Entra => "Microsoft Entra ID",
            Self::OneLogin => "OneLogin",
            Self::JumpCloud => "JumpCloud",
            Self::Google => "Google Workspace",
            Self::Unknown => "your identity provider",
        }
    }

    /// The name at the start of a sentence.
    pub fn subject(self) -> &'static str {
        match self {
            Self::Unknown => "Your identity provider",
            known => known.name(),
        }
    }

    /// The stored form (`provisioning_log.detail` mentions it; the log shows the name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Okta => "okta",
            Self::Entra => "entra",
            Self::OneLogin => "onelogin",
            Self::JumpCloud => "jumpcloud",
            Self::Google => "google",
            Self::Unknown => "unknown",
        }
    }
}

/// A request recognised as an identity provider's connection test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestCall {
    /// What the provider did, in words ("listed users (startIndex=1, count=2)").
    pub what: &'static str,
}

/// Recognises the connection tests the providers' setup screens run:
///
/// - Okta's **Test Connector Configuration** (and the catalogue apps' **Test API
///   Credentials**) list users with `startIndex=1&count=2` — imports use larger pages;
/// - Entra's **Test Connection** looks up a random GUID as `userName`, which no real
///   user has (real lookups use the user principal name);
/// - discovery (`/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`), which providers
///   read while they are being set up, not while they provision.
///
/// `path` is the part after the tenant (`/Users`), `query` the raw query string.
pub fn recognise_test_call(method: &str, path: &str, query: &str) -> Option<TestCall> {
    if method != "GET" {
        return None;
    }
    let path = path.trim_end_matches('/');
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if path.eq_ignore_ascii_case("/Users") {
        if let Some(filter) = param("filter") {
            let (attribute, value) = filter
                .split_once(" eq ")
                .or_else(|| filter.split_once(" EQ "))?;
            let value = value.trim().trim_matches('"');
            if attribute.trim().eq_ignore_ascii_case("userName")
                && uuid::Uuid::parse_str(value).is_ok()
            {
                return Some(TestCall {
                    what: "looked up a random userName, expecting no user",
                });
            }
            return None;
        }
        if param("count") == Some("2") && param("startindex").is_none_or(|s| s == "1") {
            return Some(TestCall {
                what: "listed users (startIndex=1, count=2)",
            });
        }
        return None;
    }
    let discovery = ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"];
    discovery
        .iter()
        .any(|d| path.eq_ignore_ascii_case(d))
        .then_some(TestCall {
            what: "read the SCIM configuration",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_recognised_or_not_named() {
        assert_eq!(
            IdentityProvider::recognise(Some("Okta SCIM Client 1.0.0"), ""),
            IdentityProvider::Okta
        );
        assert_eq!(
            IdentityProvider::recognise(None, "aadOptscim062020"),
            IdentityProvider::Entra
        );
        assert_eq!(
            IdentityProvider::recognise(Some("curl/8"), "").name(),
            "your identity provider"
        );
    }

    #[test]
    fn test_calls_are_told_from_provisioning() {
        assert!(recognise_test_call("GET", "/Users", "startIndex=1&count=2").is_some());
        assert!(recognise_test_call("GET", "/Users", "startIndex=1&count=100").is_none());
        assert!(
            recognise_test_call(
                "GET",
                "/Users",
                "filter=userName%20eq%20%223ba7a1b1-0c1f-4b4a-8a5b-7c4b4e1f8f3e%22"
            )
            .is_some()
        );
        assert!(
            recognise_test_call(
                "GET",
                "/Users",
                "filter=userName%20eq%20%22ada%40acme.test%22"
            )
            .is_none()
        );
        assert!(recognise_test_call("GET", "/ServiceProviderConfig", "").is_some());
        assert!(recognise_test_call("POST", "/Users", "").is_none());
    }
}
