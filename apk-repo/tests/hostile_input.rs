//! Property tests of the parsers of outside data other than the index itself (see
//! `hostile_index.rs`): `HTTP_AUTH` values, repository URLs, `/etc/apk/repositories`,
//! apk versions, a repository's error text and published signing keys. None may panic
//! on any input; where a writer exists, what it writes reads back the same.
//!
//! Case counts are modest so the file runs in seconds in a debug build; a failure prints
//! the shrunk input, and nothing is persisted (no regression files to keep in git).

use std::cmp::Ordering;

use apk_repo::fetch::ApkErrors;
use apk_repo::http_auth::{HttpAuth, HttpAuthError};
use apk_repo::index::Keyring;
use apk_repo::repo_url::{RepoUrl, mask_credentials};
use apk_repo::repositories::{Line, RepositoriesFile};
use apk_repo::version::{self, Version};
use proptest::prelude::*;
use pull_through_core::ExposeSecret;
use pull_through_core::error::ErrorEnvelope;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of the pieces these grammars care about, so the cases reach past the first
/// check more often than uniformly random text would.
fn soup(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(pieces).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9.]{1,4}",
        1 => any::<char>().prop_map(String::from),
        1 => "[\\x00-\\x20\\x7f]",
        1 => "[é€😀\u{2028}\u{feff}]",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|parts| parts.concat())
}

const URL_PIECES: &[&str] = &[
    "https://",
    "http://",
    "ftp://",
    "file://",
    "://",
    "@",
    ":",
    "/",
    "%",
    "%25",
    "%00",
    "%zz",
    "%2F",
    "[",
    "]",
    "?",
    "#",
    " ",
    "\t",
    "127.0.0.1",
    "apk.cgr.dev",
    "h",
    ":8080",
    "..",
    "artifactory",
    "user",
    "tok",
];

const HTTP_AUTH_PIECES: &[&str] = &[
    "basic:",
    "BASIC:",
    "Basic:",
    "bearer:",
    ":",
    "::",
    "apk.cgr.dev",
    "user",
    "token",
    "/",
    "@",
    "\n",
];

const FILE_PIECES: &[&str] = &[
    "\n",
    "\r\n",
    "#",
    "@",
    "@tag ",
    "@tag:",
    "v2 ",
    "v3 ",
    "ndx ",
    "set ",
    "set\t",
    " ",
    "\t",
    "https://",
    "http://",
    "ftp://",
    "file:///",
    "u:p@",
    "h/os",
    "main",
    "/srv/repo",
];

/// A password that cannot occur in any other part of a line by accident.
fn password() -> impl Strategy<Value = String> {
    "SECRET[A-Z]{8}".prop_map(|text| text)
}

/// Credentials as people have them: identities with `/`, e-mail users, any printable
/// character, and non-ASCII.
fn credential() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{40}/[a-z0-9]{16}",
        "[a-z]{1,8}@[a-z]{1,8}\\.com",
        "[!-~]{1,24}",
        "[a-zé€😀 ]{1,12}".prop_filter("not blank", |text| !text.trim().is_empty()),
    ]
}

/// Repository base URLs as configs and tutorials write them.
fn base_url() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        Just("apk.cgr.dev".to_owned()),
        Just("127.0.0.1:8080".to_owned()),
        "[a-z]{1,10}\\.example\\.(com|io)",
    ];
    let path = proptest::collection::vec("[a-zA-Z0-9._-]{1,10}", 0..4);
    (host, path, any::<bool>()).prop_map(|(host, path, slash)| {
        let mut url = format!("https://{host}/{}", path.join("/"));
        if slash && !url.ends_with('/') {
            url.push('/');
        }
        url
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn http_auth_parse_never_panics_and_is_lossless(value in prop_oneof![soup(HTTP_AUTH_PIECES), any::<String>()]) {
        match HttpAuth::parse(&value) {
            // What apk-tools reads, the value gives back byte for byte.
            Ok(auth) => {
                prop_assert_eq!(auth.value().expose_secret().to_owned(), value.clone());
                prop_assert!(!auth.user().contains(':'));
                prop_assert!(!auth.host().contains(':'));
                let shown = auth.to_string();
                prop_assert!(shown.ends_with(":[REDACTED]"), "{}", shown);
                let _ = auth.apko_sends_to(auth.host());
                let _ = auth.export_line("TOKEN").shown();
            }
            Err(err) => prop_assert!(matches!(err, HttpAuthError::Malformed { .. }), "{err:?}"),
        }
    }

    #[test]
    fn http_auth_built_values_read_back(
        host in prop_oneof!["[a-z]{1,10}(\\.[a-z]{1,5}){0,2}", soup(HTTP_AUTH_PIECES)],
        user in prop_oneof![credential(), soup(HTTP_AUTH_PIECES)],
        password in prop_oneof![credential(), soup(HTTP_AUTH_PIECES)],
    ) {
        let Ok(auth) = HttpAuth::basic(&host, &user, password.as_str()) else {
            return Ok(());
        };
        let read = HttpAuth::parse(auth.value().expose_secret()).unwrap();
        prop_assert_eq!(read.host(), host.to_ascii_lowercase());
        prop_assert_eq!(read.user(), user.as_str());
        prop_assert_eq!(read.password().expose_secret(), password.as_str());
        // Both tools accept what `basic` builds: apko sends it to exactly that host.
        prop_assert!(read.apko_sends_to(&host.to_ascii_lowercase()));
        // Shown, the password is the variable, never its value.
        let shell = auth.export_line("TOKEN");
        prop_assert!(shell.shown().ends_with(":${TOKEN}\""), "{}", shell.shown());
    }

    #[test]
    fn repo_url_lines_never_panic_and_read_back(line in prop_oneof![soup(URL_PIECES), any::<String>()]) {
        let _ = RepoUrl::parse(&line);
        let Ok(url) = RepoUrl::parse_line(&line) else {
            return Ok(());
        };
        // Written out again, the line reads back as the same repository and credentials.
        let again = RepoUrl::parse_line(&url.expose()).unwrap();
        prop_assert_eq!(&again, &url);
        prop_assert_eq!(again.user(), url.user());
        let _ = url.warnings();
        let _ = url.check_credentials_transport();
        let _ = url.index_url("x86_64");
        if url.password().is_some() {
            prop_assert!(url.to_string().contains(":*@"), "{}", url);
        }
    }

    #[test]
    fn repo_urls_with_credentials_read_back(base in base_url(), user in credential(), secret in password()) {
        let url = RepoUrl::parse(&base).unwrap().with_credentials(&user, secret.as_str()).unwrap();
        let line = url.expose();
        let read = RepoUrl::parse_line(&line).unwrap();
        prop_assert_eq!(read.user(), Some(user.as_str()));
        prop_assert_eq!(read.password().unwrap().expose_secret(), secret.as_str());
        prop_assert_eq!(read.base(), url.base());
        prop_assert!(!url.to_string().contains(&secret));
        let debug = format!("{url:?}");
        prop_assert!(!debug.contains(&secret));
        prop_assert!(!mask_credentials(&line).contains(&secret));
    }

    #[test]
    fn masking_never_panics_and_is_idempotent(text in prop_oneof![soup(URL_PIECES), any::<String>()]) {
        let once = mask_credentials(&text);
        prop_assert_eq!(mask_credentials(&once), once.clone());
        // Masking only shortens what it masks (one '*' per URL at most is added).
        prop_assert!(once.len() <= text.len() + text.matches("://").count());
        if !text.contains('@') {
            prop_assert_eq!(once, text);
        }
    }

    #[test]
    fn repositories_files_keep_every_byte(text in prop_oneof![soup(FILE_PIECES), any::<String>()]) {
        let file = RepositoriesFile::parse(&text);
        prop_assert_eq!(file.render().expose_secret().to_owned(), text.clone());
        // One parsed line per line of text: the structure stays proportional to the input.
        let lines = if text.is_empty() { 0 } else { text.strip_suffix('\n').unwrap_or(&text).split('\n').count() };
        prop_assert_eq!(file.lines().len(), lines);
        let masked = file.render_masked();
        prop_assert_eq!(masked.matches('\n').count(), text.matches('\n').count());
        let _ = file.holds_credentials();
        let _ = format!("{file:?}");
        for repository in file.repositories() {
            let _ = repository.to_string();
        }
    }

    #[test]
    fn repository_lines_round_trip(
        base in base_url(),
        user in credential(),
        secret in password(),
        tag in proptest::option::of("[a-z]{1,6}"),
        components in proptest::collection::vec("[a-z]{1,8}", 0..3),
    ) {
        let url = RepoUrl::parse(&base).unwrap().with_credentials(&user, secret.as_str()).unwrap();
        let mut line = String::new();
        if let Some(tag) = &tag {
            line.push_str(&format!("@{tag} "));
        }
        line.push_str(&url.expose());
        for component in &components {
            line.push(' ');
            line.push_str(component);
        }
        let text = format!("# a comment\n{line}\n");
        let file = RepositoriesFile::parse(&text);
        let repository = file.repositories().next().unwrap();
        prop_assert_eq!(repository.url(), Some(&url));
        prop_assert_eq!(&repository.tag, &tag);
        prop_assert_eq!(&repository.components, &components);
        prop_assert!(file.holds_credentials());
        prop_assert!(!file.render_masked().contains(&secret));
        let debug = format!("{file:?}");
        prop_assert!(!debug.contains(&secret));
        prop_assert_eq!(file.render().expose_secret().to_owned(), text.clone());

        // The file an edit writes reads back with the same repository.
        let mut edited = RepositoriesFile::default();
        edited.add(url.clone());
        let reread = RepositoriesFile::parse(edited.render().expose_secret());
        prop_assert_eq!(reread.repositories().next().and_then(|r| r.url()), Some(&url));
        prop_assert!(matches!(reread.lines()[0], Line::Repository(_)));
    }

    #[test]
    fn repository_error_text_never_panics(status in 100u16..600, body in any::<String>()) {
        let status = http::StatusCode::from_u16(status).unwrap();
        if let Some(parsed) = ApkErrors.parse(status, &body) {
            let message = parsed.message.unwrap();
            prop_assert!(!message.is_empty());
            prop_assert!(body.contains(&message), "the message is the body's first line");
        } else {
            prop_assert!(body.trim().is_empty());
        }
    }

    #[test]
    fn published_keys_never_panic(document in prop_oneof![
        any::<Vec<u8>>(),
        soup(&["{", "}", "[", "]", "\"keys\"", ":", ",", "\"kty\"", "\"RSA\"", "\"kid\"", "\"n\"", "\"e\"", "\"AQAB\"", "\"x\"", "null"])
            .prop_map(String::into_bytes),
    ]) {
        let mut keyring = Keyring::new();
        if let Ok(added) = keyring.add_jwks(&document) {
            prop_assert_eq!(added.len(), keyring.names().count());
        }
        let _ = keyring.add_pem("k.rsa.pub", &String::from_utf8_lossy(&document));
    }
}

/// Versions of the grammar: numbers (with leading zeros), a letter and its number,
/// suffixes with numbers, a commit hash and a revision.
fn valid_version() -> impl Strategy<Value = String> {
    let suffix = (
        proptest::sample::select(
            &["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"][..],
        ),
        proptest::option::of("[0-9]{1,3}"),
    )
        .prop_map(|(name, number)| format!("_{name}{}", number.unwrap_or_default()));
    (
        "[0-9]{1,3}",
        proptest::collection::vec("[0-9]{1,3}", 0..3),
        proptest::option::of(("[a-z]", proptest::option::of("[0-9]{1,2}"))),
        proptest::collection::vec(suffix, 0..3),
        proptest::option::of("[0-9a-f]{1,6}"),
        proptest::option::of("[0-9]{1,3}"),
    )
        .prop_map(|(first, rest, letter, suffixes, hash, revision)| {
            let mut text = first;
            for number in rest {
                text.push('.');
                text.push_str(&number);
            }
            if let Some((letter, number)) = letter {
                text.push_str(&letter);
                text.push_str(&number.unwrap_or_default());
            }
            text.push_str(&suffixes.concat());
            if let Some(hash) = hash {
                text.push('~');
                text.push_str(&hash);
            }
            if let Some(revision) = revision {
                text.push_str("-r");
                text.push_str(&revision);
            }
            text
        })
}

const VERSION_PIECES: &[&str] = &[
    "1", "0", "01", ".", "_", "~", "-r", "-", "a", "p", "rc", "_p", "_rc", "_alpha", "~ab", "-r1",
];

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn versions_never_panic(a in prop_oneof![soup(VERSION_PIECES), any::<String>()], b in soup(VERSION_PIECES)) {
        for text in [&a, &b] {
            if let Err(err) = version::validate(text) {
                prop_assert!(err.position <= text.len());
                prop_assert_eq!(&err.version, text);
            }
        }
        let ordered = version::compare(&a, &b);
        prop_assert_eq!(ordered.is_ok(), version::validate(&a).is_ok() && version::validate(&b).is_ok());
        let _ = version::fuzzy_match(&a, &b);
    }

    #[test]
    fn generated_versions_are_valid_and_print_back(text in valid_version()) {
        let parsed = Version::parse(text.clone()).unwrap();
        prop_assert_eq!(parsed.to_string(), text.clone());
        let again: Version = parsed.to_string().parse().unwrap();
        prop_assert_eq!(again.cmp(&parsed), Ordering::Equal);
        prop_assert!(version::fuzzy_match(&text, &text).unwrap());
    }

    #[test]
    fn version_order_is_total(
        versions in proptest::collection::vec(valid_version(), 3..7),
    ) {
        let parsed: Vec<Version> = versions.iter().map(|v| Version::parse(v.as_str()).unwrap()).collect();
        for a in &parsed {
            prop_assert_eq!(a.cmp(a), Ordering::Equal);
            for b in &parsed {
                // Antisymmetric, and the free function agrees with Ord.
                prop_assert_eq!(a.cmp(b), b.cmp(a).reverse(), "{} {}", a, b);
                prop_assert_eq!(version::compare(a.as_str(), b.as_str()).unwrap(), a.cmp(b));
                for c in &parsed {
                    // Transitive.
                    if a <= b && b <= c {
                        prop_assert!(a <= c, "{} <= {} <= {} but not {} <= {}", a, b, c, a, c);
                    }
                    // Consistent with equality: equal versions order alike.
                    if a == b {
                        prop_assert_eq!(a.cmp(c), b.cmp(c), "{} == {} but not against {}", a, b, c);
                    }
                }
            }
        }
        let mut sorted = parsed.clone();
        sorted.sort();
        for pair in sorted.windows(2) {
            prop_assert!(pair[0] <= pair[1]);
        }
    }

    #[test]
    fn nearby_versions_order_consistently(base in valid_version(), edits in proptest::collection::vec(valid_version(), 2..4)) {
        // Versions sharing a prefix meet the mixed-kind comparisons (a suffix against a
        // revision, a letter against a number) far more often than unrelated ones.
        let versions: Vec<Version> = edits
            .iter()
            .flat_map(|tail| {
                let digits = tail.trim_start_matches(|c: char| c.is_ascii_digit());
                [format!("{base}{digits}"), format!("{base}.{tail}"), base.clone()]
            })
            .filter_map(|text| Version::parse(text).ok())
            .collect();
        for a in &versions {
            for b in &versions {
                prop_assert_eq!(a.cmp(b), b.cmp(a).reverse(), "{} {}", a, b);
                for c in &versions {
                    if a < b && b < c {
                        prop_assert!(a < c, "{} < {} < {} but not {} < {}", a, b, c, a, c);
                    }
                }
            }
        }
    }
}
