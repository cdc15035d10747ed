//! A real browser for tests: [`Browser::start`] runs Debian's `chromedriver` on a free
//! loopback port and opens headless Chromium through it (thirtyfour, WebDriver over plain
//! HTTP), with a fresh profile in a temporary directory. One browser per test; tests run in
//! parallel, each with its own port and profile.
//!
//! Nothing is downloaded: the browser and the driver are the system's (`apt-get install
//! chromium chromium-driver`; `.ci/run` does it). Without `chromedriver` a test prints
//! `skipped: chromedriver not found` and passes, except under `CI`, where it fails, so CI
//! never skips silently.
//!
//! Screenshots go to `target/browser-screenshots/` (git ignores `target/`).

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use thirtyfour::error::WebDriverErrorInner;
use thirtyfour::prelude::*;

/// What Chromium is started with: headless, and nothing that reaches the network by itself
/// (`--disable-dev-shm-usage` because containers often have a tiny `/dev/shm`).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
];

/// How long chromedriver may take to answer its first `/status`.
const DRIVER_READY: Duration = Duration::from_secs(30);
/// One WebDriver request at most (opening a session starts Chromium: slow on a busy machine).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// A page load at most.
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Browser::find`] waits for an element to appear.
pub const FIND_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at a free port (another process may take the port between probe and bind).
const PORT_ATTEMPTS: usize = 4;

/// A headless Chromium driven by its own chromedriver; both end when it is dropped.
pub struct Browser {
    // `drop` ends the session (Chromium closes) before it kills chromedriver.
    driver: Option<WebDriver>,
    chromedriver: Child,
    port: u16,
    // Last: the profile and the driver's log outlive both processes.
    dir: TempDir,
}

impl Browser {
    /// A fresh headless Chromium, or `None` (having printed why) when `chromedriver` is not
    /// installed. Panics when it is missing and `CI` is set, or when it does not start.
    pub async fn start() -> Option<Browser> {
        let Some(chromedriver) = find_program("chromedriver") else {
            if in_ci() {
                panic!(
                    "chromedriver not found on PATH or in /usr/bin, and CI is set: install \
                     Debian's chromium and chromium-driver (.ci/run does)"
                );
            }
            println!("skipped: chromedriver not found (apt-get install chromium chromium-driver)");
            return None;
        };
        // reqwest is built with rustls (no provider) for the whole workspace: the client needs
        // the one provider installed even though it speaks plain HTTP here.
        dropline_connect::install_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("an HTTP client for chromedriver");
        let dir = tempfile::Builder::new()
            .prefix("dropline-browser-")
            .tempdir()
            .expect("a temporary directory for the browser");
        let (child, port) = start_chromedriver(&chromedriver, dir.path(), &http).await;
        let mut browser = Browser {
            driver: None,
            chromedriver: child,
            port,
            dir,
        };
        let profile = browser.dir.path().join("profile");
        std::fs::create_dir_all(&profile).expect("the browser profile directory");

        let mut capabilities = DesiredCapabilities::chrome();
        if let Some(chromium) = find_program("chromium") {
            capabilities
                .set_binary(&chromium.to_string_lossy())
                .expect("the Chromium binary capability");
        }
        for arg in CHROMIUM_ARGS {
            capabilities.add_arg(arg).expect("a Chromium argument");
        }
        capabilities
            .add_arg(&format!("--user-data-dir={}", profile.display()))
            .expect("the profile argument");

        let driver = WebDriver::builder(format!("http://127.0.0.1:{port}"), capabilities)
            .request_timeout(REQUEST_TIMEOUT)
            .client(http)
            .connect()
            .await;
        let driver = match driver {
            Ok(driver) => driver,
            Err(err) => panic!(
                "Chromium did not start through chromedriver: {err}\n{}",
                browser.driver_log()
            ),
        };
        driver
            .set_page_load_timeout(PAGE_LOAD_TIMEOUT)
            .await
            .expect("the page load timeout");
        driver
            .set_script_timeout(Duration::from_secs(30))
            .await
            .expect("the script timeout");
        browser.driver = Some(driver);
        Some(browser)
    }

    /// The WebDriver session, for what the helpers below do not cover.
    pub fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("a running browser")
    }

    /// The port chromedriver listens on.
    pub fn driver_port(&self) -> u16 {
        self.port
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.driver()
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("open {url}: {err}"));
    }

    /// The first element matching the CSS selector, waiting up to [`FIND_TIMEOUT`] for it.
    pub async fn find(&self, css: &str) -> WebElement {
        let found = self
            .driver()
            .query(By::Css(css))
            .wait(FIND_TIMEOUT, Duration::from_millis(100))
            .first()
            .await;
        match found {
            Ok(element) => element,
            Err(err) => panic!("no element '{css}' on {}: {err}", self.current_url().await),
        }
    }

    /// Every element matching the CSS selector now (no waiting; possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<WebElement> {
        self.driver()
            .find_all(By::Css(css))
            .await
            .unwrap_or_else(|err| panic!("find '{css}': {err}"))
    }

    /// The text a person sees in the first element matching `css` (rendered, not markup).
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|err| panic!("text of '{css}': {err}"))
    }

    /// The visible text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(css).await {
            texts.push(
                element
                    .text()
                    .await
                    .unwrap_or_else(|err| panic!("text of '{css}': {err}")),
            );
        }
        texts
    }

    /// Clears the field matching `css` and types `value` into it.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|err| panic!("clear '{css}': {err}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("type into '{css}': {err}"));
    }

    /// Clicks the element matching `css` (once it is displayed and enabled).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        element
            .click_when_ready()
            .await
            .unwrap_or_else(|err| panic!("click '{css}': {err}"));
    }

    /// Submits the form matching `css` (or the form of the field matching it) as a person
    /// pressing Enter would: the browser's validation and submit events run.
    pub async fn submit(&self, css: &str) {
        let element = self.find(css).await;
        let argument = element.to_json().expect("an element reference");
        self.driver()
            .execute(
                "const e = arguments[0];\
                 const form = e.tagName === 'FORM' ? e : (e.form || e.closest('form'));\
                 if (!form) { throw new Error('no form around the element'); }\
                 form.requestSubmit();",
                vec![argument],
            )
            .await
            .unwrap_or_else(|err| panic!("submit '{css}': {err}"));
    }

    /// The address of the page shown now.
    pub async fn current_url(&self) -> String {
        self.driver().current_url().await.expect("the current URL").to_string()
    }

    /// The document's title.
    pub async fn title(&self) -> String {
        self.driver().title().await.expect("the page title")
    }

    /// The page's markup as the browser holds it now.
    pub async fn page_source(&self) -> String {
        self.driver().source().await.expect("the page source")
    }

    /// The text of the open `alert`/`confirm`/`prompt` dialog, `None` when none is open.
    pub async fn alert_text(&self) -> Option<String> {
        match self.driver().get_alert_text().await {
            Ok(text) => Some(text),
            Err(err) if matches!(err.as_inner(), WebDriverErrorInner::NoSuchAlert(_)) => None,
            Err(err) => panic!("ask for an open dialog: {err}"),
        }
    }

    /// Saves a PNG of the viewport as `target/browser-screenshots/<name>.png` and returns its
    /// path. `name` is reduced to letters, digits, `-` and `_`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("create {}: {err}", dir.display()));
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{file}.png"));
        let png = self.driver().screenshot_as_png().await.expect("a screenshot");
        std::fs::write(&path, png).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
        path
    }

    /// Ends the session (Chromium closes) and stops chromedriver. Dropping does the same,
    /// blocking; this is the polite way at the end of a test.
    pub async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
        // Drop stops chromedriver.
    }

    fn driver_log(&self) -> String {
        let path = self.dir.path().join("chromedriver.log");
        match std::fs::read_to_string(&path) {
            Ok(log) => format!("chromedriver's output:\n{log}"),
            Err(_) => "chromedriver wrote nothing".to_string(),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session ourselves, blocking, so Chromium is gone before its driver.
        // thirtyfour's own fallback would reuse the pooled connection of this test's runtime,
        // which cannot make progress while this thread blocks: it hangs until the timeout.
        if let Some(driver) = self.driver.take() {
            let session = driver.session_id().to_string();
            let _ = driver.leak();
            end_session(self.port, &session);
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
        kill_leftover_chromium(&self.dir.path().join("profile"));
    }
}

/// `DELETE /session/{id}` on chromedriver over a plain blocking socket (no async runtime:
/// this runs in `drop`); chromedriver answers once Chromium has closed.
fn end_session(port: u16, session: &str) {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(5)) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // chromedriver keeps the connection open after its answer: read the head and the
    // `Content-Length` bytes of the body, not up to the end of the stream.
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        if let Some(head_end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if answer.len() >= head_end + 4 + length {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
        }
    }
}

/// Kills what is left of the Chromium that used `profile` (its processes name the profile
/// on their command line), should the session not have ended cleanly. Linux's `/proc`.
fn kill_leftover_chromium(profile: &Path) {
    let marker = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let pids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == marker.as_bytes()))
        })
        .collect();
    if !pids.is_empty() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `target/browser-screenshots`, in `CARGO_TARGET_DIR` when set, else in the workspace's
/// `target`.
pub fn screenshot_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.ancestors().nth(2).unwrap_or(manifest);
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    };
    target.join("browser-screenshots")
}

/// Whether the tests run in CI (`CI` set, and not to `false` or `0`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// `name` on `PATH`, else in `/usr/bin`.
fn find_program(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| Some(Path::new("/usr/bin").join(name)).filter(|p| p.is_file()))
}

/// Starts chromedriver on a free loopback port and waits until it answers; retries on
/// another port when the chosen one was taken in between.
async fn start_chromedriver(program: &Path, dir: &Path, http: &reqwest::Client) -> (Child, u16) {
    let log_path = dir.join("chromedriver.log");
    let mut failures = Vec::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port();
        let log = File::create(&log_path).expect("chromedriver's log file");
        let err_log = log.try_clone().expect("chromedriver's log file");
        let mut child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", program.display()));
        let deadline = Instant::now() + DRIVER_READY;
        let status_url = format!("http://127.0.0.1:{port}/status");
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                failures.push(format!("port {port}: chromedriver exited ({status}): {log}"));
                break;
            }
            let ready = match http.get(&status_url).timeout(Duration::from_secs(2)).send().await {
                Ok(response) if response.status().is_success() => response
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|body| body["value"]["ready"] == true),
                _ => false,
            };
            if ready {
                return (child, port);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                failures.push(format!("port {port}: no answer in {DRIVER_READY:?}: {log}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("chromedriver did not start:\n{}", failures.join("\n"));
}

/// A port free on 127.0.0.1 now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}
