//! Query parameters, decoded leniently (a bad escape never fails the request) and
//! matched case-insensitively, as RFC 7644 asks of parameter names.

use actix_web::HttpRequest;
use roster_core::provisioning::ProjectionParams;

pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub(crate) fn from_request(req: &HttpRequest) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(req.query_string().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn projection(&self) -> ProjectionParams<'_> {
        ProjectionParams {
            attributes: self.get("attributes"),
            excluded_attributes: self.get("excludedAttributes"),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
