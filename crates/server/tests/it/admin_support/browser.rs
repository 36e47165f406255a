//! The admin UI tests' real browser: one chromedriver per test process, a fresh
//! headless Chromium per test, the steps a person takes (fill, click, read), and the
//! accessibility and layout checks run on every page.

use std::future::Future;
use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use roster_testkit::TestApp;

use super::{OPERATOR_EMAIL, OPERATOR_PASSWORD};

/// One chromedriver per test process, stopped by a watchdog when the process ends.
fn chromedriver_port() -> u16 {
    static DRIVER: OnceLock<(u16, Mutex<Child>)> = OnceLock::new();
    DRIVER
        .get_or_init(|| {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let driver = which("chromedriver").expect(
                "chromedriver is not installed: apt-get install chromium chromium-driver \
                 (scripts/test does this)",
            );
            // The shell waits for this test process to end, then stops the driver (and so
            // its browsers): a static is never dropped, so nothing else would.
            let child = Command::new("sh")
                .arg("-c")
                .arg(
                    "\"$1\" --port=\"$2\" --allowed-ips=127.0.0.1 >/dev/null 2>&1 & d=$!; \
                     while kill -0 \"$3\" 2>/dev/null; do sleep 1; done; kill $d",
                )
                .arg("sh")
                .arg(driver)
                .arg(port.to_string())
                .arg(std::process::id().to_string())
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (port, Mutex::new(child))
        })
        .0
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// Two cores: at most two browsers at a time.
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs `test` with a fresh headless Chromium (own profile, no network beyond loopback)
/// and closes it afterwards, also when the test fails.
pub async fn with_browser<F, Fut>(test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let _permit = BROWSERS.acquire().await.unwrap();
    let profile = tempfile::Builder::new()
        .prefix("roster-chromium-")
        .tempdir()
        .unwrap();
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--no-first-run".to_owned(),
        "--window-size=1280,900".to_owned(),
    ];
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut options = serde_json::json!({ "args": args });
    if let Some(binary) = which("chromium") {
        options["binary"] = serde_json::json!(binary);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), serde_json::json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", chromedriver_port()))
        .await
        .expect("chromedriver starts a headless Chromium");
    let outcome = AssertUnwindSafe(test(client.clone())).catch_unwind().await;
    let _ = client.close().await;
    drop(profile);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Saves a PNG of the current page under the target directory, and into
/// `ROSTER_TEST_SCREENSHOT_DIR` when set (how `docs/screenshots/` is refreshed).
pub async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    if let Ok(extra) = std::env::var("ROSTER_TEST_SCREENSHOT_DIR") {
        std::fs::create_dir_all(&extra).unwrap();
        std::fs::write(PathBuf::from(extra).join(format!("{name}.png")), &png).unwrap();
    }
}

pub async fn fill(browser: &Client, css: &str, value: &str) {
    let field = browser.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Clicks something that loads a new page, and waits until the new page has loaded:
/// WebDriver's click returns once the click is dispatched, not when the next document
/// is ready, and reading too early reads the old page.
pub async fn click(browser: &Client, css: &str) {
    let element = browser.find(Locator::Css(css)).await.unwrap();
    click_element(browser, &element).await;
}

pub async fn click_element(browser: &Client, element: &fantoccini::elements::Element) {
    browser
        .execute("window.__rosterOldPage = true;", vec![])
        .await
        .unwrap();
    element.click().await.unwrap();
    for _ in 0..200 {
        let loaded = browser
            .execute(
                "return window.__rosterOldPage === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await
            .unwrap();
        if loaded == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no new page loaded within 10 s");
}

pub async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn path_of(browser: &Client) -> String {
    browser.current_url().await.unwrap().path().to_owned()
}

/// Signs in as an operator through the form.
pub async fn sign_in_with(browser: &Client, app: &TestApp, email: &str, password: &str) {
    sign_in_to_with(browser, app, "", email, password).await;
}

/// Ticks the checkbox or radio button `css` (a click that loads no page).
pub async fn tick(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// On a tenant's rules, drafts the mapping rule "the work address's city is `city`" for
/// the first location; the caller ticks more and submits.
pub async fn draft_work_city_rule(browser: &Client, city: &str) {
    click(browser, "nav.subtabs a[href$='/rules']").await;
    fill(
        browser,
        "#attribute",
        r#"addresses[type eq "work"].locality"#,
    )
    .await;
    fill(browser, "#values", city).await;
    tick(browser, "input[name=location]").await;
}

/// Changes the password on the page the sign-in sent the admin to.
pub async fn change_password(browser: &Client, current: &str, new: &str) {
    assert_eq!(path_of(browser).await, "/admin/password");
    fill(browser, "#current", current).await;
    fill(browser, "#new", new).await;
    fill(browser, "#confirm", new).await;
    click(browser, "main form button[type=submit]").await;
}

/// Signs out through the layout's button.
pub async fn sign_out(browser: &Client) {
    click(browser, "form[action='/admin/logout'] button").await;
    assert_eq!(path_of(browser).await, "/admin/login");
}

/// Signs in as the bootstrap operator and opens `path`.
pub async fn operator_on(browser: &Client, app: &TestApp, path: &str) {
    sign_in_with(browser, app, OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    browser.goto(&app.url(path)).await.unwrap();
}

/// Signs in to an organization's account through the form.
pub async fn sign_in_to_with(
    browser: &Client,
    app: &TestApp,
    organization: &str,
    email: &str,
    password: &str,
) {
    browser.goto(&app.url("/admin/login")).await.unwrap();
    fill(browser, "#organization", organization).await;
    fill(browser, "#email", email).await;
    fill(browser, "#password", password).await;
    click(browser, "form button[type=submit]").await;
}

// ---------------------------------------------------------------------------------------
// Accessibility and layout checks in the browser.

/// axe-core (npm `axe-core`, vendored: see `vendor/README.md`).
const AXE: &str = include_str!("../vendor/axe-4.14.1.min.js");

/// Desktop and phone sizes of the checks (CSS pixels of the window).
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

pub async fn window(browser: &Client, (width, height): (u32, u32)) {
    browser.set_window_size(width, height).await.unwrap();
}

/// Runs axe-core on the current page and fails on any serious or critical violation
/// (WCAG 2.x A and AA rules and axe's best practices), naming the rule and the elements.
pub async fn assert_accessible(browser: &Client, page: &str) {
    let loaded = browser
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .unwrap();
    if loaded != serde_json::Value::Bool(true) {
        browser.execute(AXE, vec![]).await.unwrap();
    }
    let result = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(JSON.stringify(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')) })))))
               .catch(e => done(JSON.stringify([{ id: 'axe-error', help: String(e) }])));",
            vec![],
        )
        .await
        .unwrap();
    let violations: serde_json::Value =
        serde_json::from_str(result.as_str().unwrap_or("[]")).unwrap();
    assert_eq!(
        violations,
        serde_json::json!([]),
        "{page}: serious accessibility violations"
    );
}

/// The page does not scroll sideways (wide tables scroll inside their own box).
pub async fn assert_no_sideways_scroll(browser: &Client, page: &str) {
    let widths = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let scroll = widths[0].as_u64().unwrap();
    let inner = widths[1].as_u64().unwrap();
    if scroll > inner {
        // Name the elements that stick out, outermost first.
        let culprits = browser
            .execute(
                "const clipped = e => { for (let p = e.parentElement; p; p = p.parentElement) {
                     if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
                 return [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                   .filter(e => !clipped(e))
                   .slice(0, 8)
                   .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                        + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
                        + ' ' + Math.round(e.getBoundingClientRect().right));",
                vec![],
            )
            .await
            .unwrap();
        panic!("{page} scrolls sideways at {inner} px: {scroll} px wide; {culprits}");
    }
}

/// Each page of `paths`: accessible at desktop width, no sideways scroll at phone width.
pub async fn check_pages(browser: &Client, app: &TestApp, paths: &[String]) {
    for path in paths {
        window(browser, DESKTOP).await;
        browser.goto(&app.url(path)).await.unwrap();
        assert_accessible(browser, path).await;
        assert_no_sideways_scroll(browser, path).await;
        // Laid out anew at phone width (a resize alone may keep the old layout a frame).
        window(browser, PHONE).await;
        browser.goto(&app.url(path)).await.unwrap();
        assert_no_sideways_scroll(browser, &format!("{path} (phone)")).await;
    }
    window(browser, DESKTOP).await;
}

/// The `value` of the form field `css` (empty when it has none).
pub async fn value_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}
