//! The HTML report in a real browser: Debian's chromium, headless, loads the
//! page from a file, runs its script, and finds the failure and the totals
//! where a person would look; its screenshot is kept as a test artifact in
//! `target/conformance-artifacts/`. `./scripts/test` installs chromium when
//! it is missing; without it this test fails rather than pass unchecked.

// The helpers' `expect`s fail the one test, which is what they are for.
#![allow(clippy::expect_used)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use zorgpoort_conformance::render;
use zorgpoort_conformance::report::{
    ActionKind, ActionReport, Exchange, Outcome, Request, Response, RunReport, ScriptReport, TestCaseReport,
};

const CHROMIUM: &str = "/usr/bin/chromium";
const FAILING_TEST: &str = "read a patient that does not exist";
const FAILURE_MESSAGE: &str = "expected status 404, got 200";
/// Generous: the first start of chromium on a busy CI machine is slow.
const TIMEOUT: Duration = Duration::from_secs(120);

fn action(kind: ActionKind, label: &str, outcome: Outcome, message: Option<&str>) -> ActionReport {
    ActionReport {
        kind,
        label: label.to_owned(),
        outcome,
        message: message.map(str::to_owned),
        exchange: None,
        duration: Duration::from_millis(7),
    }
}

fn test(name: &str, actions: Vec<ActionReport>) -> TestCaseReport {
    TestCaseReport {
        name: name.to_owned(),
        description: None,
        actions,
        duration: Duration::from_millis(31),
    }
}

fn script(name: &str, tests: Vec<TestCaseReport>) -> ScriptReport {
    ScriptReport {
        name: name.to_owned(),
        url: Some(format!("http://example.org/TestScript/{name}")),
        source: format!("suites/gateway/{name}.json"),
        setup: Vec::new(),
        tests,
        teardown: Vec::new(),
        error: None,
    }
}

/// Two scripts: three passing tests, one failing with a hostile body.
fn sample() -> RunReport {
    let mut failing = action(
        ActionKind::Assert,
        "responseCode = 404",
        Outcome::Fail,
        Some(FAILURE_MESSAGE),
    );
    failing.exchange = Some(Exchange {
        request: Request {
            method: "GET".to_owned(),
            url: "http://127.0.0.1:8080/fhir/Patient/does-not-exist".to_owned(),
            headers: vec![("Accept".to_owned(), "application/fhir+json".to_owned())],
            body: None,
        },
        response: Some(Response {
            status: 200,
            headers: vec![("Content-Type".to_owned(), "text/html".to_owned())],
            body: Some("</pre><script>document.title = 'owned'</script>".to_owned()),
        }),
    });
    let get = |outcome| action(ActionKind::Operation, "GET Patient/p1", outcome, None);
    let status = |outcome| action(ActionKind::Assert, "responseCode = 200", outcome, None);
    RunReport {
        suite: "gateway".to_owned(),
        target: "http://127.0.0.1:8080/fhir".to_owned(),
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_637_600),
        duration: Duration::from_millis(2345),
        scripts: vec![
            script(
                "patient-read",
                vec![
                    test("read a patient", vec![get(Outcome::Pass), status(Outcome::Pass)]),
                    test(FAILING_TEST, vec![get(Outcome::Pass), failing]),
                ],
            ),
            script(
                "capabilities",
                vec![
                    test("metadata", vec![get(Outcome::Pass), status(Outcome::Pass)]),
                    test("formats", vec![get(Outcome::Pass), status(Outcome::Pass)]),
                ],
            ),
        ],
    }
}

/// A fresh directory under cargo's per-target scratch space.
fn scratch() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("render-browser-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Runs chromium headless on `url` with `extra` arguments in a profile of
/// its own, and returns the file its standard output went to; fails the
/// test when chromium does not end, or not well, in time.
fn chromium(scratch: &Path, name: &str, url: &str, extra: &[String]) -> PathBuf {
    let profile = scratch.join(format!("profile-{name}"));
    let stdout = scratch.join(format!("{name}.stdout"));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).expect("stdout file"))
        .stderr(File::create(scratch.join(format!("{name}.stderr"))).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("chromium status") {
            assert!(status.success(), "chromium {extra:?} exited with {status}");
            return stdout;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium {extra:?} did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_html_report_renders_in_chromium_with_the_failure_findable() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run ./scripts/test, which installs Debian's chromium \
         (apt-get install -y --no-install-recommends chromium)"
    );
    let scratch = scratch();
    let page = scratch.join("report.html");
    fs::write(&page, render::html(&sample())).expect("page written");

    let url = format!("file://{}", page.display());
    let dump = ["--dump-dom".to_owned()];
    let dom = fs::read_to_string(chromium(&scratch, "dom", &url, &dump)).expect("dumped DOM");
    assert!(dom.contains("data-ready=\"true\""), "the page's script ran:\n{dom}");
    assert!(
        dom.contains("<title>FAIL · gateway · conformance report</title>"),
        "a script in a response body ran:\n{dom}"
    );
    assert!(
        !dom.contains("id=\"filter\" hidden"),
        "the failures-only filter is shown"
    );
    let failures = dom.find("id=\"failures\"").expect("a failures section");
    let results = dom.find("id=\"results\"").expect("a results section");
    let failures = &dom[failures..results];
    assert!(failures.contains(FAILING_TEST), "{failures}");
    assert!(failures.contains(FAILURE_MESSAGE), "{failures}");
    for (count, what) in [(4, "tests"), (3, "passed"), (1, "failed"), (0, "errors")] {
        assert!(
            dom.contains(&format!("data-count=\"{what}\">{count}<")),
            "{count} {what}"
        );
    }

    // The filter at work: a link to the page with #failures-only opens it filtered.
    let filtered = fs::read_to_string(chromium(&scratch, "filtered", &format!("{url}#failures-only"), &dump))
        .expect("dumped DOM, filtered");
    assert!(filtered.contains("<body class=\"failures-only\">"), "{filtered}");
    assert!(
        !dom.contains("<body class=\"failures-only\">"),
        "unfiltered unless asked"
    );

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../conformance-artifacts");
    fs::create_dir_all(&artifacts).expect("artifacts directory");
    let screenshot = artifacts.join("report.png");
    let _ = fs::remove_file(&screenshot);
    let args = [
        format!("--screenshot={}", screenshot.display()),
        "--window-size=1280,2000".to_owned(),
    ];
    chromium(&scratch, "screenshot", &url, &args);
    let png = fs::read(&screenshot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    // IHDR, right after the signature and its chunk header: width and height.
    assert_eq!(
        (&png[16..20], &png[20..24]),
        (&1280u32.to_be_bytes()[..], &2000u32.to_be_bytes()[..])
    );
    assert!(
        png.len() > 30_000,
        "a page with content, not a blank one: {} bytes",
        png.len()
    );
    fs::copy(&page, artifacts.join("report.html")).expect("page kept beside its screenshot");
    fs::remove_dir_all(&scratch).expect("scratch removed");
}
