//! Bad input gets its typed error, and no request reaches the server.

use pull_through_core::http::{HttpClient, RetryConfig};
use pull_through_core::{
    CacheName, CacheSet, CacheSpec, Error, NameCase, OrgId, OrgName, PackageFormat, Upstream,
    UpstreamCredentials, ValidationError,
};
use secrecy::SecretString;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG_ID: &str = "0123456789abcdef0123456789abcdef01234567";

type Check = fn(&ValidationError) -> bool;

#[test]
fn upstream_table() {
    use ValidationError as V;
    let cases: Vec<(String, Check, &str)> = vec![
        (
            "https://cgr.dev/".into(),
            |e| matches!(e, V::UpstreamAmbiguous { .. }),
            "cgr.dev/chainguard",
        ),
        (
            "https://cgr.dev/chainguard/go".into(),
            |e| matches!(e, V::UpstreamExtraComponents { .. }),
            "exactly https://cgr.dev/",
        ),
        (
            "http://cgr.dev/chainguard".into(),
            |e| matches!(e, V::UpstreamUrl { .. }),
            "https only",
        ),
        (
            "quay.io/chainguard".into(),
            |e| matches!(e, V::UnknownUpstream { .. }),
            "apk.cgr.dev/<org name>",
        ),
        (
            format!("apk.cgr.dev/{ORG_ID}"),
            |e| matches!(e, V::OrgNameExpected { .. }),
            "NAME column",
        ),
        (
            "virtualapk.cgr.dev/example.com/chainguard".into(),
            |e| matches!(e, V::OrgIdExpected { .. }),
            "ID column",
        ),
        (
            format!("virtualapk.cgr.dev/{ORG_ID}/extras"),
            |e| matches!(e, V::UpstreamExtraComponents { .. }),
            "extra-packages",
        ),
        (
            "packages.wolfi.dev".into(),
            |e| matches!(e, V::UpstreamIncomplete { .. }),
            "packages.wolfi.dev/os",
        ),
    ];
    for (input, check, advice) in cases {
        let err = input.parse::<Upstream>().expect_err(&input);
        assert!(check(&err), "{input}: {err:?}");
        assert!(
            err.to_string().contains(advice),
            "{input}: message lacks {advice:?}: {err}"
        );
    }
}

#[test]
fn org_table() {
    assert!(matches!(
        OrgName::new(ORG_ID),
        Err(ValidationError::OrgNameExpected { .. })
    ));
    assert!(matches!(
        OrgName::new("ab"),
        Err(ValidationError::InvalidName { .. })
    ));
    assert!(matches!(
        OrgName::new("has space"),
        Err(ValidationError::InvalidName { .. })
    ));
    assert!(matches!(
        OrgId::new("example.com"),
        Err(ValidationError::OrgIdExpected { .. })
    ));
    assert_eq!(OrgId::new(ORG_ID).unwrap().as_str(), ORG_ID);
}

#[test]
fn spec_table() {
    let name = |n: &str| CacheName::new(n).unwrap();
    let missing_creds =
        CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap());
    let err = missing_creds.validate().unwrap_err();
    assert!(matches!(err, ValidationError::MissingCredentials { .. }));
    assert!(err.to_string().contains("registry.pull"), "{err}");

    let wrong_member = CacheSet::new(
        vec![
            CacheSpec::remote(name("cg-chainguard"), Upstream::Wolfi),
            CacheSpec::aggregate(
                name("cgr-virt"),
                PackageFormat::Docker,
                vec![name("cg-chainguard")],
            ),
        ],
        NameCase::Insensitive,
    )
    .unwrap_err();
    assert!(
        matches!(wrong_member, ValidationError::InvalidMembers { .. }),
        "{wrong_member:?}"
    );

    assert!(UpstreamCredentials::new(" ", "x").is_err());
}

/// A server that answers 500 to anything, so any request that slips through fails the test
/// loudly as well as being counted.
async fn trap() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn credentials_over_plain_http_are_refused_before_sending() {
    let server = trap().await;
    let port = url::Url::parse(&server.uri()).unwrap().port().unwrap();
    // The IPv4-mapped form of 127.0.0.1 is not a loopback address to the check, yet it
    // reaches the trap: were the refusal to regress, the request would land there, never
    // off this machine.
    let client = HttpClient::builder(
        "test",
        format!("http://[::ffff:127.0.0.1]:{port}").parse().unwrap(),
    )
    .retry(RetryConfig::none())
    .build()
    .unwrap();
    let token = SecretString::from("t0ken-value");
    let err = client
        .get("v2/")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(ValidationError::InsecureTransport { url }) if url.ends_with("/v2/")),
        "{err:?}"
    );
    let err = client
        .get("v2/")
        .basic_auth("user", &token)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn unusable_credentials_are_refused_before_sending() {
    let server = trap().await;
    let client = HttpClient::builder("test", server.uri().parse().unwrap())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let with_newline = SecretString::from("token\n");
    let err = client
        .get("x")
        .bearer_auth(&with_newline)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(ValidationError::InvalidValue { problem, .. }) if problem.contains("trailing newline")),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn builders_refuse_bad_base_urls() {
    let err = HttpClient::builder("test", "https://admin:pw@example.jfrog.io".parse().unwrap())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidInput(ValidationError::InvalidUrl { .. })
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("pw@"), "{err}");
}
