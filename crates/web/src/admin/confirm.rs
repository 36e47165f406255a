//! The confirmation page of destructive actions: it says what will happen, and its form
//! posts to the same URL (with the CSRF token); Cancel goes back.

use askama::Template;

use super::page::Layout;

#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub(crate) struct ConfirmPage {
    pub l: Layout,
    pub title: String,
    pub message: String,
    /// Where the form posts (the page's own URL).
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
}
