//! A Docker cache's `probe` must be an image reference (distribution's grammar) and is
//! refused at config check, with the line, the field and the rule, before any backend is
//! reached.

use pull_through_fleet::{
    BackendFactory, BackendTable, Config, ConfigError, ConnectContext, Connected, Factories,
};

/// A vendor that takes any table and never connects: only the config check runs.
struct Example;

impl BackendFactory for Example {
    fn kind(&self) -> &str {
        "example"
    }
    fn fields(&self) -> &[&str] {
        &[]
    }
    fn check(&self, _: &BackendTable) -> Result<(), ConfigError> {
        Ok(())
    }
    fn connect(
        &self,
        table: &BackendTable,
        _: &ConnectContext<'_>,
    ) -> Result<Connected, ConfigError> {
        Err(table.table_error("not connected in these tests"))
    }
}

/// The probe is on line 8.
fn config(upstream: &str, probe: &str) -> String {
    format!(
        "name = \"t\"\n[chainguard]\norg = \"example.com\"\n[backends.ex]\ntype = \"example\"\n\
         [[caches]]\nname = \"pub\"\nprobe = {probe:?}\nupstream = {upstream:?}\n"
    )
}

fn parse(upstream: &str, probe: &str) -> Result<Config, ConfigError> {
    Config::parse(
        "t.toml",
        &config(upstream, probe),
        &Factories::new().with(Example),
    )
}

fn refused(probe: &str) -> String {
    parse("cgr.dev/chainguard", probe)
        .expect_err(probe)
        .to_string()
}

#[test]
fn valid_references_pass() {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    for probe in [
        "chainguard/go:latest".to_owned(),
        "chainguard/go".to_owned(),
        "example.com/chainguard-base:latest".to_owned(),
        "chainguard/python:3.12-dev".to_owned(),
        "a/b__c/d--e.f_g:Tag_1.0-rc".to_owned(),
        format!("chainguard/go@{digest}"),
        format!("chainguard/go:latest@{digest}"),
        format!("chainguard/go:{}", "t".repeat(128)),
    ] {
        parse("cgr.dev/chainguard", &probe).unwrap_or_else(|err| panic!("{probe}: {err}"));
    }
}

#[test]
fn each_rule_is_named_with_line_and_field() {
    let digest = "0123456789abcdef".repeat(4);
    for (probe, rule) in [
        ("Chainguard/go", "path component \"Chainguard\""),
        ("chainguard//go", "path component \"\""),
        ("chainguard/go-", "path component \"go-\""),
        ("chainguard/-go", "path component \"-go\""),
        ("chainguard/go..x", "path component \"go..x\""),
        ("chainguard/go___x", "path component \"go___x\""),
        ("/chainguard/go", "path component \"\""),
        ("chainguard/go:", "tag \"\""),
        ("chainguard/go:.latest", "tag \".latest\""),
        ("chainguard/go:lat/est", "tag"),
        ("chainguard/go:a+b", "tag \"a+b\""),
        ("chainguard/go@sha256:abc", "digest \"sha256:abc\""),
        ("chainguard/go@md5:0123", "digest \"md5:0123\""),
        ("chainguard/go with space", "path component"),
    ] {
        let message = refused(probe);
        assert!(
            message.contains("t.toml:8"),
            "{probe}: no line in {message}"
        );
        assert!(message.contains("probe"), "{probe}: no field in {message}");
        assert!(message.contains(rule), "{probe}: {message}");
    }
    let long_tag = format!("chainguard/go:{}", "t".repeat(129));
    assert!(refused(&long_tag).contains("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
    let upper_digest = format!("chainguard/go@sha256:{}", digest.to_uppercase());
    assert!(refused(&upper_digest).contains("sha256:[0-9a-f]{64}"));
}

#[test]
fn apk_probes_are_package_names_not_image_references() {
    parse("apk.cgr.dev/chainguard", "libstdc++").unwrap();
}
