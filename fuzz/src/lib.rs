//! The bodies of the fuzz targets in `fuzz_targets/`: one function per parser of outside
//! data, taking the fuzzer's bytes. Each panics only where a parser panics or breaks a
//! property the stable proptest tests also check (what is read back equals what was
//! written, what is parsed stays proportional to the input).

use std::cmp::Ordering;

use apk_repo::http_auth::HttpAuth;
use apk_repo::index::{ApkIndex, ReadOptions, SignedIndex, parse_records};
use apk_repo::repo_url::{RepoUrl, mask_credentials};
use apk_repo::repositories::RepositoriesFile;
use apk_repo::version;
use http::StatusCode;
use pull_through_core::ExposeSecret;
use pull_through_core::error::ErrorEnvelope;
use pull_through_fleet::{Config, Factories};

/// A cap well under libFuzzer's default memory limit (2 GB).
const CAP: u64 = 64 * 1024 * 1024;

/// An `APKINDEX.tar.gz`, and the same bytes as record text.
pub fn apkindex(data: &[u8]) {
    let options = ReadOptions::default().with_max_decompressed(CAP);
    let _ = ApkIndex::read_unverified_with(data, options);
    if let Ok(split) = SignedIndex::split(data) {
        let _ = split.verify(&apk_repo::index::Keyring::new());
    }
    let _ = apk_repo::package::gzip_members(data, CAP);
    let lines = data.split(|&b| b == b'\n').count();
    let packages = parse_records(data).filter(Result::is_ok).count();
    assert!(
        packages * 2 <= lines,
        "{packages} packages from {lines} lines"
    );
}

/// An `HTTP_AUTH` value; and host, user and password separated by NUL bytes, built and
/// read back.
pub fn http_auth(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(auth) = HttpAuth::parse(&text) {
        assert_eq!(auth.value().expose_secret(), text);
    }
    let mut parts = text.splitn(3, '\0');
    let (Some(host), Some(user), Some(password)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    if let Ok(auth) = HttpAuth::basic(host, user, password) {
        let read = HttpAuth::parse(auth.value().expose_secret()).unwrap();
        assert_eq!(
            (read.user(), read.password().expose_secret()),
            (user, password)
        );
        assert!(read.apko_sends_to(auth.host()));
    }
}

/// A repository URL or line: what is read is written out and read back the same.
pub fn repo_url(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = RepoUrl::parse(&text);
    if let Ok(url) = RepoUrl::parse_line(&text) {
        let again = RepoUrl::parse_line(&url.expose()).unwrap();
        assert_eq!(again, url);
        let _ = url.to_string();
        let _ = url.warnings();
    }
    let masked = mask_credentials(&text);
    assert_eq!(mask_credentials(&masked), masked);
}

/// An `/etc/apk/repositories` file: kept byte for byte, one line per line.
pub fn repositories(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let file = RepositoriesFile::parse(&text);
    assert_eq!(file.render().expose_secret(), text);
    assert_eq!(
        file.render_masked().matches('\n').count(),
        text.matches('\n').count()
    );
    let _ = file.holds_credentials();
}

/// Up to three versions, one per line: the order of valid ones is antisymmetric and
/// transitive.
pub fn version(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let versions: Vec<&str> = text.splitn(3, '\n').collect();
    for v in &versions {
        let _ = version::validate(v);
    }
    let valid: Vec<version::Version> = versions
        .iter()
        .filter_map(|v| version::Version::parse(*v).ok())
        .collect();
    for a in &valid {
        assert_eq!(a.cmp(a), Ordering::Equal);
        for b in &valid {
            assert_eq!(a.cmp(b), b.cmp(a).reverse(), "{a} {b}");
            let _ = version::fuzzy_match(a.as_str(), b.as_str());
            for c in &valid {
                if a <= b && b <= c {
                    assert!(a <= c, "{a} <= {b} <= {c}");
                }
            }
        }
    }
}

/// A config file, checked by the vendors' own factories: loaded or refused at a line.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let factories = Factories::new()
        .with(artifactory_client::ArtifactoryFactory)
        .with(gar_client::GarFactory)
        .with(cloudsmith_client::CloudsmithFactory);
    match Config::parse("fuzz.toml", &text, &factories) {
        Ok(config) => {
            for (index, cache) in config.caches.iter().enumerate() {
                assert!(!config.caches[..index].iter().any(|c| c.name == cache.name));
            }
        }
        Err(err) => assert!((1..=text.split('\n').count()).contains(&err.line), "{err}"),
    }
}

/// An error body, the first two bytes choosing the status: every vendor's envelope reads
/// it or leaves it to the core.
pub fn envelopes(data: &[u8]) {
    let Some((status, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = StatusCode::from_u16(100 + u16::from_be_bytes(*status) % 500).unwrap();
    let body = String::from_utf8_lossy(body);
    let envelopes: [&dyn ErrorEnvelope; 6] = [
        &artifactory_client::ArtifactoryErrors,
        &cloudsmith_client::CloudsmithErrors,
        &gar_client::DockerErrors,
        &gar_client::GoogleErrors::new("project", "hint"),
        &chainguard_client::RpcStatus,
        &apk_repo::fetch::ApkErrors,
    ];
    for envelope in envelopes {
        if let Some(parsed) = envelope.parse(status, &body) {
            let message = parsed.message.unwrap_or_default();
            // A message may add a fixed note and separators, never a multiple of the body.
            assert!(message.len() <= 3 * body.len() + 4096, "{envelope:?}");
        }
    }
    let _ = pull_through_core::registry::parse_bearer_challenge(&body);
    let _ = pull_through_core::redact::redact_text(&body);
}
