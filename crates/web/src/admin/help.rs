//! The guides of `docs/` — identity providers, the tenant's rules, the API and webhooks —
//! compiled in and rendered as HTML inside the admin layout, with a navigation of every
//! guide. Seen from a tenant's pages (`/admin/t/{slug}/help/…`), the placeholders the text
//! shows (`https://<roster host>/scim/v2/<tenant>`, `<tenant>`, `https://roster.example.com`)
//! are that tenant's own URLs; `/admin/help/…` shows the text as written.
//!
//! The Markdown is ours, but it is rendered as if it were not: raw HTML in it becomes
//! text, links to other guides lead to their pages, links to files that are not guides
//! become plain text, and headings get ids for in-page links.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::error::AdminError;
use super::page::{Layout, ok};
use super::session::{Guide as GuideAbility, TenantView, current_session};
use crate::AppState;

/// Which part of the navigation a guide belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Idp,
    Rules,
    Developers,
}

pub(crate) struct Guide {
    pub name: &'static str,
    pub title: &'static str,
    part: Part,
    pub source: &'static str,
}

pub(crate) const GUIDES: [Guide; 11] = [
    Guide {
        name: "okta",
        title: "Okta",
        part: Part::Idp,
        source: include_str!("../../../../docs/idp/okta.md"),
    },
    Guide {
        name: "entra",
        title: "Microsoft Entra ID",
        part: Part::Idp,
        source: include_str!("../../../../docs/idp/entra.md"),
    },
    Guide {
        name: "onelogin",
        title: "OneLogin",
        part: Part::Idp,
        source: include_str!("../../../../docs/idp/onelogin.md"),
    },
    Guide {
        name: "jumpcloud",
        title: "JumpCloud",
        part: Part::Idp,
        source: include_str!("../../../../docs/idp/jumpcloud.md"),
    },
    Guide {
        name: "provisioning-settings",
        title: "Provisioning settings",
        part: Part::Rules,
        source: include_str!("../../../../docs/rules/provisioning-settings.md"),
    },
    Guide {
        name: "trusted-domains",
        title: "Trusted domains",
        part: Part::Rules,
        source: include_str!("../../../../docs/rules/trusted-domains.md"),
    },
    Guide {
        name: "custom-attributes",
        title: "Custom attributes",
        part: Part::Rules,
        source: include_str!("../../../../docs/rules/custom-attributes.md"),
    },
    Guide {
        name: "notification-defaults",
        title: "Notification defaults",
        part: Part::Rules,
        source: include_str!("../../../../docs/rules/notification-defaults.md"),
    },
    Guide {
        name: "locations",
        title: "Locations and mapping rules",
        part: Part::Rules,
        source: include_str!("../../../../docs/rules/locations.md"),
    },
    Guide {
        name: "api",
        title: "Events and directory API",
        part: Part::Developers,
        source: include_str!("../../../../docs/api.md"),
    },
    Guide {
        name: "webhooks",
        title: "Webhooks",
        part: Part::Developers,
        source: include_str!("../../../../docs/webhooks.md"),
    },
];

pub(crate) fn guide(name: &str) -> Option<&'static Guide> {
    GUIDES.iter().find(|g| g.name == name)
}

/// The URLs the guides' placeholders stand for, when a tenant is known.
pub(crate) struct Urls {
    pub public_url: String,
    pub slug: String,
}

impl Urls {
    pub(crate) fn of(state: &AppState, slug: &str) -> Self {
        Self {
            public_url: state
                .config
                .public_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            slug: slug.to_owned(),
        }
    }

    fn fill(&self, text: &str) -> String {
        text.replace(
            "https://<roster host>/scim/v2/<tenant>",
            &format!("{}/scim/v2/{}", self.public_url, self.slug),
        )
        .replace("https://<roster host>", &self.public_url)
        .replace("https://roster.example.com", &self.public_url)
        .replace("<tenant>", &self.slug)
    }
}

/// Where the link to another guide leads: within the tenant's pages when there is one.
fn help_href(name: &str, fragment: Option<&str>, urls: Option<&Urls>) -> String {
    let base = match urls {
        Some(urls) => format!("/admin/t/{}/help/{name}", urls.slug),
        None => format!("/admin/help/{name}"),
    };
    match fragment {
        Some(fragment) => format!("{base}#{fragment}"),
        None => base,
    }
}

/// The guide a relative link names (`api.md`, `../rules/locations.md#x`), if it is one.
fn linked_guide(dest: &str) -> Option<(&'static str, Option<&str>)> {
    if dest.contains("://") || dest.starts_with('/') || dest.starts_with('#') {
        return None;
    }
    let (file, fragment) = match dest.split_once('#') {
        Some((file, fragment)) => (file, Some(fragment)),
        None => (dest, None),
    };
    let stem = file.rsplit('/').next()?.strip_suffix(".md")?;
    GUIDES
        .iter()
        .find(|g| g.name == stem)
        .map(|g| (g.name, fragment))
}

/// An anchor id from a heading's text: lower case, words joined by `-`.
fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if (c == ' ' || c == '-') && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// Renders a guide. `skip_title` leaves out its first `#` heading and the paragraph right
/// after it — the guides' note on where Roster shows them, which the page showing them
/// does not need.
pub(crate) fn render(source: &str, urls: Option<&Urls>, skip_title: bool) -> String {
    let text = match urls {
        Some(urls) => urls.fill(source),
        None => source.to_owned(),
    };
    let parser = Parser::new_ext(&text, Options::ENABLE_TABLES);
    let mut events: Vec<Event<'_>> = Vec::new();
    // Whether each open link was kept (a link to a non-guide file is dropped).
    let mut links: Vec<bool> = Vec::new();
    // A heading being collected, to give it an id from its text.
    let mut heading: Option<(HeadingLevel, Vec<Event<'_>>)> = None;
    let mut title_skipped = !skip_title;
    let mut skipping_title = false;
    // After the title: skip the first paragraph too.
    let mut skip_intro = false;
    let mut skipping_intro = false;
    for event in parser {
        let event = match event {
            // Raw HTML is shown as text: nothing in a guide runs or styles the page.
            Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let relative = !dest_url.contains("://")
                    && !dest_url.starts_with('#')
                    && !dest_url.starts_with("mailto:");
                if !relative {
                    links.push(true);
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    })
                } else if let Some((name, fragment)) = linked_guide(&dest_url) {
                    links.push(true);
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url: CowStr::from(help_href(name, fragment, urls)),
                        title,
                        id,
                    })
                } else {
                    links.push(false);
                    continue;
                }
            }
            Event::End(TagEnd::Link) => {
                if links.pop().unwrap_or(true) {
                    Event::End(TagEnd::Link)
                } else {
                    continue;
                }
            }
            other => other,
        };
        if skipping_title {
            if matches!(event, Event::End(TagEnd::Heading(_))) {
                skipping_title = false;
                skip_intro = true;
            }
            continue;
        }
        if skip_intro {
            skip_intro = false;
            if matches!(event, Event::Start(Tag::Paragraph)) {
                skipping_intro = true;
                continue;
            }
        }
        if skipping_intro {
            if matches!(event, Event::End(TagEnd::Paragraph)) {
                skipping_intro = false;
            }
            continue;
        }
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                if !title_skipped && level == HeadingLevel::H1 {
                    title_skipped = true;
                    skipping_title = true;
                    continue;
                }
                heading = Some((level, Vec::new()));
            }
            Event::End(TagEnd::Heading(level)) => {
                let inner = heading.take().map(|(_, inner)| inner).unwrap_or_default();
                let plain: String = inner
                    .iter()
                    .filter_map(|e| match e {
                        Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                        _ => None,
                    })
                    .collect();
                events.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(slugify(&plain))),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                }));
                events.extend(inner);
                events.push(Event::End(TagEnd::Heading(level)));
            }
            other => match &mut heading {
                Some((_, inner)) => inner.push(other),
                None => events.push(other),
            },
        }
    }
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    // Wide tables and code scroll inside the page, not the page sideways; a keyboard
    // reaches what scrolls.
    html.replace(
        "<table>",
        "<div class=\"table-wrap\" tabindex=\"0\"><table>",
    )
    .replace("</table>", "</table></div>")
    .replace("<pre>", "<pre tabindex=\"0\">")
}

/// One entry of the help navigation.
pub(crate) struct NavEntry {
    pub href: String,
    pub title: &'static str,
    pub current: bool,
}

pub(crate) struct NavPart {
    pub title: &'static str,
    pub entries: Vec<NavEntry>,
}

fn navigation(current: &str, urls: Option<&Urls>) -> Vec<NavPart> {
    [
        (Part::Idp, "Connect your identity provider"),
        (Part::Rules, "The tenant's rules"),
        (Part::Developers, "For the product's developers"),
    ]
    .into_iter()
    .map(|(part, title)| NavPart {
        title,
        entries: GUIDES
            .iter()
            .filter(|g| g.part == part)
            .map(|g| NavEntry {
                href: help_href(g.name, None, urls),
                title: g.title,
                current: g.name == current,
            })
            .collect(),
    })
    .collect()
}

#[derive(Template)]
#[template(path = "admin/help.html")]
struct HelpPage {
    l: Layout,
    title: &'static str,
    nav: Vec<NavPart>,
    /// The rendered guide (our own Markdown, rendered without raw HTML).
    body: String,
    filled: bool,
}

/// `/admin/help` and `/admin/help/{page}`: the text as written, for anyone (the guides
/// are public documentation); signed in, with the admin's layout.
pub(crate) async fn page(
    req: HttpRequest,
    path: Option<web::Path<String>>,
) -> Result<HttpResponse, AdminError> {
    let name = path.map_or_else(|| "okta".to_owned(), web::Path::into_inner);
    let found = guide(&name).ok_or(AdminError::NotFound)?;
    let l = match current_session(&req).await {
        Ok(session) if !session.admin.must_change_password => Layout::new(&req, &session, "help"),
        _ => Layout::anonymous(),
    };
    ok(&HelpPage {
        l,
        title: found.title,
        nav: navigation(found.name, None),
        body: render(found.source, None, false),
        filled: false,
    })
}

/// `/admin/t/{slug}/help/{page}`: the guide with the tenant's URLs filled in.
pub(crate) async fn tenant_page(
    req: HttpRequest,
    view: TenantView<GuideAbility>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let found = guide(&path.1).ok_or(AdminError::NotFound)?;
    let urls = Urls::of(&state, view.scope.slug().as_str());
    ok(&HelpPage {
        l: Layout::view(&req, &view, "help"),
        title: found.title,
        nav: navigation(found.name, Some(&urls)),
        body: render(found.source, Some(&urls), false),
        filled: true,
    })
}

/// `/admin/t/{slug}/help`: the first guide.
pub(crate) async fn tenant_index(
    req: HttpRequest,
    view: TenantView<GuideAbility>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let found = &GUIDES[0];
    let urls = Urls::of(&state, view.scope.slug().as_str());
    ok(&HelpPage {
        l: Layout::view(&req, &view, "help"),
        title: found.title,
        nav: navigation(found.name, Some(&urls)),
        body: render(found.source, Some(&urls), false),
        filled: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guides_render_with_links_ids_and_no_raw_html() {
        let urls = Urls {
            public_url: "https://r.example".to_owned(),
            slug: "acme".to_owned(),
        };
        let html = render(
            "# Title\n\nWhere this guide is shown.\n\n## Step 1: go\n\nSee [api.md](api.md#paging) and \
             [operations](operations.md). <script>x</script> `https://<roster host>/scim/v2/<tenant>`\n",
            Some(&urls),
            true,
        );
        assert!(
            !html.contains("<h1") && !html.contains("Where this"),
            "{html}"
        );
        assert!(html.contains("<h2 id=\"step-1-go\">"), "{html}");
        assert!(
            html.contains("href=\"/admin/t/acme/help/api#paging\""),
            "{html}"
        );
        assert!(!html.contains("operations.md"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("https://r.example/scim/v2/acme"), "{html}");
        for guide in &GUIDES {
            assert!(!render(guide.source, None, false).is_empty());
        }
    }
}
