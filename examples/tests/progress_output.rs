//! What the flows print while they run: one plain line per finished step on a stderr
//! that is not a terminal (a pipe here), nothing with `--output json`, and the bar on a
//! terminal (a pseudo-terminal from util-linux `script`; that test skips with a message
//! when `script` is not installed).

mod common;

use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::flow::*;
use common::{Served, serve, text};

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");

/// The seeds' aggregates, in the config's order: destroy deletes them first.
const AGGREGATES: [&str; 4] = ["cgr-virt", "cg-apk-virt", "chainguard-virt", "chainguard"];

fn line(what: &str, subject: &str, result: &str) -> String {
    format!("  {what:<10} {subject:<20} {result}")
}

/// The progress lines of stderr: without the log's lines (a warning starts with its
/// time), which may come between them.
fn stderr_lines(output: &Output) -> Vec<String> {
    text(&output.stderr)
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(str::to_owned)
        .collect()
}

/// `text` without its terminal escapes (`ESC [ ... letter`): what a person reads.
fn without_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs the program with the seeds config against `served`, for people, one cache at a
/// time so that the lines come in a known order.
fn human(served: &Served, args: &[&str]) -> Output {
    let config = seeds();
    let mut all = vec!["--config", config.to_str().unwrap(), "--concurrency", "1"];
    all.extend_from_slice(args);
    common::run(served, &all, &[])
}

#[test]
fn the_default_run_prints_one_line_per_finished_step_when_stderr_is_a_pipe() {
    let output = Command::new(BIN)
        .args(["--concurrency", "1", "apply"])
        .env_remove("ARTIFACTORY_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    expect_code(&output, 0);
    let lines = stderr_lines(&output);
    let (verify, apply): (Vec<String>, Vec<String>) = lines
        .iter()
        .cloned()
        .partition(|l| l.starts_with("  verify "));
    // Verify one cache at a time, in the config's order, each passed.
    let expected: Vec<String> = SEED_CACHES
        .iter()
        .map(|cache| line("verify", cache, "passed"))
        .collect();
    assert_eq!(verify, expected, "{lines:#?}");
    // Apply: a pull token made for each private cache (its identity after `created`),
    // and every cache created; the order is apply's own.
    let mut seen: Vec<String> = apply
        .iter()
        .map(|l| match l.split_once(" created ") {
            Some((head, id)) if l.starts_with("  pull token ") && id.contains('/') => {
                format!("{head} created ID")
            }
            _ => l.clone(),
        })
        .collect();
    seen.sort();
    let mut wanted: Vec<String> = PRIVATE_CACHES
        .iter()
        .map(|cache| line("pull token", cache, "created ID"))
        .chain(
            SEED_CACHES
                .iter()
                .map(|cache| line("cache", cache, "created")),
        )
        .collect();
    wanted.sort();
    assert_eq!(seen, wanted, "{lines:#?}");
    // The bar is for terminals only: nothing is drawn over.
    assert!(!text(&output.stderr).contains('\x1b'));
    assert!(
        text(&output.stdout).contains("Summary: 13 caches applied on the embedded sandbox"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn verify_rotate_and_destroy_print_their_steps_and_nothing_in_json() {
    let served = serve();
    expect_code(&flow(&served, &["apply"], &[]), 0);

    let verified = human(&served, &["verify"]);
    expect_code(&verified, 0);
    let expected: Vec<String> = SEED_CACHES
        .iter()
        .map(|cache| line("verify", cache, "passed"))
        .collect();
    assert_eq!(stderr_lines(&verified), expected);

    let rotated = human(&served, &["rotate", "--cache", "cgr-private"]);
    expect_code(&rotated, 0);
    assert_eq!(
        text(&rotated.stderr),
        format!("{}\n", line("rotate", "cgr-private", "rotated"))
    );

    // JSON: the document on stdout, and not a byte on stderr.
    for args in [&["verify"][..], &["rotate", "--cache", "cg-private"][..]] {
        let output = flow(&served, args, &[]);
        expect_code(&output, 0);
        assert_eq!(text(&output.stderr), "", "{args:?}");
        json(&output);
    }

    let tokens: Vec<(String, String)> = json(&flow(&served, &["status"], &[]))["pull_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t: &Value| {
            (
                t["cache"].as_str().unwrap().to_owned(),
                t["identity_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(tokens.len(), PRIVATE_CACHES.len(), "{tokens:?}");
    let destroyed = human(&served, &["destroy", "--yes"]);
    expect_code(&destroyed, 0);
    let lines = stderr_lines(&destroyed);
    // The aggregates before their members, one at a time; then the pull tokens.
    let deletes: Vec<String> = AGGREGATES
        .iter()
        .chain(SEED_CACHES.iter().filter(|c| !AGGREGATES.contains(c)))
        .map(|cache| line("delete", cache, "deleted"))
        .collect();
    assert_eq!(lines[..deletes.len()], deletes[..], "{lines:#?}");
    let mut revokes = lines[deletes.len()..].to_vec();
    revokes.sort();
    let mut expected: Vec<String> = tokens
        .iter()
        .map(|(cache, id)| line("revoke", cache, id))
        .collect();
    expected.sort();
    assert_eq!(revokes, expected, "{lines:#?}");

    // Again, in JSON: every cache already absent, nothing on stderr.
    let again = flow(&served, &["destroy", "--yes"], &[]);
    expect_code(&again, 0);
    assert_eq!(stderr_lines(&again), Vec::<String>::new());
    assert!(
        results(&json(&again))
            .iter()
            .all(|(_, r)| r == "already_absent")
    );
}

/// Runs `args` under util-linux `script`, whose pseudo-terminal is the program's stdout
/// and stderr; `None` when `script` is not installed.
fn on_a_terminal(served: &Served, args: &[&str]) -> Option<String> {
    let quoted: Vec<String> = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
        .collect();
    let output = match Command::new("script")
        .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .envs(&served.env)
        .env_remove("RUST_LOG")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => panic!("could not run script: {err}"),
    };
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    Some(text(&output.stdout))
}

#[test]
fn on_a_terminal_the_flows_draw_a_bar_instead_of_lines_and_json_stays_clean() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!(
            "skipped: util-linux `script` is not installed (it gives the program a terminal)"
        );
        return;
    }
    let served = serve();
    expect_code(&flow(&served, &["apply"], &[]), 0);
    let config = seeds();
    let config = config.to_str().unwrap();

    let raw = on_a_terminal(&served, &["--config", config, "verify"]).unwrap();
    assert!(
        raw.contains("\x1b[2K"),
        "the bar is drawn over itself: {raw}"
    );
    let drawn = without_escapes(&raw);
    // Each drawing of the bar: the flow, done of total, the time, what runs.
    let frames: Vec<String> = raw
        .split("\x1b[2K")
        .map(|frame| without_escapes(frame).trim().to_owned())
        .collect();
    assert!(
        frames.iter().any(|f| f.starts_with("verify [")
            && f.contains("] 0/13 ")
            && f.ends_with(" cgr-public")),
        "{frames:#?}"
    );
    assert!(
        frames
            .iter()
            .any(|f| f.starts_with("verify [") && f.contains("] 1/13 ")),
        "{frames:#?}"
    );
    assert!(
        !drawn.contains(&line("verify", "cgr-public", "passed")),
        "{drawn}"
    );
    assert!(drawn.contains("All 13 caches pulled through."), "{drawn}");

    let document =
        on_a_terminal(&served, &["--config", config, "--output", "json", "verify"]).unwrap();
    assert!(!document.contains("verify ["), "{document}");
    let value: Value = serde_json::from_str(document.trim()).unwrap_or_else(|err| {
        panic!("a terminal gets the JSON document alone ({err}): {document}")
    });
    assert_eq!(value["ok"], true);
}
