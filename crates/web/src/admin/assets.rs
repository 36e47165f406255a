//! The stylesheet and script, compiled into the binary and served under a URL that
//! carries a digest of their content: the single binary needs no files beside it, and
//! browsers may cache an asset forever because a new build gets a new URL.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const CSS: &str = include_str!("../../../../static/admin.css");
const JS: &str = include_str!("../../../../static/admin.js");

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset {
        name: "admin.css",
        content_type: "text/css; charset=utf-8",
        body: CSS,
    },
    Asset {
        name: "admin.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS,
    },
];

/// One digest for the whole set: short enough for URLs, enough to bust caches.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut all = String::new();
        for asset in &ASSETS {
            all.push_str(asset.body);
        }
        roster_core::crypto::sha256_hex(all.as_bytes())[..12].to_owned()
    })
}

fn url_of(name: &str) -> String {
    format!("/static/{}/{name}", version())
}

pub(crate) fn css_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| url_of("admin.css"))
}

pub(crate) fn js_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| url_of("admin.js"))
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{version}/{name}", web::get().to(serve));
}

async fn serve(path: web::Path<(String, String)>) -> HttpResponse {
    let (asked_version, name) = path.into_inner();
    let found = ASSETS.iter().find(|asset| asset.name == name);
    match found {
        // An old version's URL gets the current content, but not for caching forever:
        // a page rendered by the previous build during a rolling upgrade still styles.
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((
                header::CACHE_CONTROL,
                if asked_version == version() {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                },
            ))
            .body(asset.body),
        None => HttpResponse::NotFound().finish(),
    }
}
