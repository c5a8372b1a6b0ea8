//! Bad input is refused before any request (a mock that answers anything fails the test),
//! with a message saying what is wrong; secrets never show in `Debug`, `Display` or
//! errors.

mod common;

use cloudsmith_client::{
    AuthMode, CloudsmithClient, DockerUpstreamPatch, DockerUpstreamRequest, Layout, Mode,
    RepositoryCreate,
};
use common::*;
use pull_through_core::{
    CacheName, CacheSpec, Error, ErrorKind, PackageFormat, PullThroughBackend, Reveal,
    SecretString, Upstream, ValidationError,
};
use wiremock::MockServer;

fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

fn rule_of(err: &Error) -> String {
    match err {
        Error::InvalidInput(ValidationError::InvalidName { rule, .. }) => rule.clone(),
        Error::InvalidInput(other) => other.to_string(),
        other => panic!("not InvalidInput: {other:?}"),
    }
}

#[tokio::test]
async fn client_calls_refuse_bad_input_without_a_request() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (client, recorder) = client(&server);

    for (body, expected) in [
        (
            RepositoryCreate::private("Chainguard"),
            "'C' is not allowed",
        ),
        (RepositoryCreate::private("c"), "it has 1 characters"),
        (RepositoryCreate::private("-cgr"), "may not come first"),
        (
            RepositoryCreate::private("s".repeat(51)),
            "it has 51 characters",
        ),
        (
            RepositoryCreate::private("cgr").with_storage_region("EU West"),
            "not a storage region slug",
        ),
    ] {
        let err = client.create_repository(&body).await.unwrap_err();
        assert!(rule_of(&err).contains(expected), "{}: {err}", body.slug);
    }
    let mut long_name = RepositoryCreate::private("cgr");
    long_name.name = "n".repeat(51);
    let err = client.create_repository(&long_name).await.unwrap_err();
    assert!(err.to_string().contains("1 to 50"), "{err}");

    let upstream = |edit: fn(&mut DockerUpstreamRequest)| {
        let mut request = DockerUpstreamRequest::private("cgr-private", &pull_token());
        edit(&mut request);
        request
    };
    for (request, expected) in [
        (upstream(|r| r.name = "x".into()), "it has 1 characters"),
        (
            upstream(|r| r.name = "n".repeat(65)),
            "it has 65 characters",
        ),
        (upstream(|r| r.name = "-x".into()), "may not come first"),
        (upstream(|r| r.priority = 0), "0 is out of range"),
        (upstream(|r| r.priority = 32768), "32768 is out of range"),
        (
            upstream(|r| r.upstream_url = "https://cgr.dev/example.com".into()),
            "exactly https://cgr.dev/chainguard (public images) or https://cgr.dev",
        ),
        (
            upstream(|r| r.upstream_url = "https://cgr.dev/chainguard/nginx".into()),
            "the image path goes into the pull reference",
        ),
        (
            upstream(|r| r.upstream_url = "http://cgr.dev".into()),
            "exactly https://cgr.dev/chainguard",
        ),
        (
            upstream(|r| r.auth_mode = AuthMode::parse("Token")),
            "there is no Token for Docker",
        ),
        (
            upstream(|r| r.mode = Mode::parse("Cache")),
            "not a Docker upstream mode",
        ),
        (
            upstream(|r| r.auth_username = Some("u".repeat(65))),
            "1 to 64 characters",
        ),
    ] {
        let err = client
            .create_upstream("chainguard", &request)
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
        assert!(err.to_string().contains(expected), "{request:?}: {err}");
        assert!(!err.to_string().contains(PULL_TOKEN));
    }
    let err = client
        .update_upstream(
            "chainguard",
            "Up1",
            &DockerUpstreamPatch::default().with_priority(-1),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-1 is out of range"), "{err}");
    for (repository, slug_perm) in [("acme/other", "Up1"), ("chainguard", "../Up1")] {
        let err = client
            .delete_upstream(repository, slug_perm)
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
    }
    assert!(
        client
            .list_packages("chain guard", "name:x")
            .await
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(recorder.records().is_empty());
}

#[tokio::test]
async fn specs_a_backend_cannot_hold_are_refused_before_any_request() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (own, own_log) = backend(&server, Layout::OwnRepository);
    let (shared, shared_log) = backend(&server, Layout::shared("chainguard").unwrap());
    let apk = CacheSpec::remote(
        name("cg-private"),
        "apk.cgr.dev/example.com".parse::<Upstream>().unwrap(),
    );
    let wolfi = CacheSpec::remote(name("wolfi"), Upstream::Wolfi);
    for backend in [&own, &shared] {
        for spec in [&apk, &wolfi] {
            for result in [
                backend.check_spec(spec),
                backend.plan(spec).await.map(drop),
                backend.ensure(spec).await.map(drop),
            ] {
                let err = result.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Unsupported, "{err:?}");
                assert!(
                    err.to_string().contains(
                        "Cloudsmith has an Alpine upstream, but no source shows it working with apk.cgr.dev"
                    ),
                    "{err}"
                );
            }
        }
    }

    let public = |n: &str| CacheSpec::remote(name(n), Upstream::CgrPublic);
    let order = |n: &str| {
        CacheSpec::aggregate(
            name(n),
            PackageFormat::Docker,
            vec![name("cgr-public"), name("cgr-private")],
        )
    };
    let refusals: Vec<(&dyn PullThroughBackend, CacheSpec, ErrorKind, &str)> = vec![
        (
            &own,
            public("CGR-public"),
            ErrorKind::InvalidInput,
            "'C' is not allowed",
        ),
        (
            &own,
            public("cgr.public"),
            ErrorKind::InvalidInput,
            "'.' is not allowed",
        ),
        (
            &own,
            public("c"),
            ErrorKind::InvalidInput,
            "it has 1 characters",
        ),
        (
            &own,
            order("chainguard"),
            ErrorKind::Unsupported,
            "Cloudsmith has no virtual repositories",
        ),
        // In the shared repository only the upstream's name rules apply...
        (
            &shared,
            public("x"),
            ErrorKind::InvalidInput,
            "it has 1 characters",
        ),
        (
            &shared,
            public("chainguard"),
            ErrorKind::InvalidInput,
            "only an aggregate may be named after",
        ),
        (
            &shared,
            order("cgr-virt"),
            ErrorKind::InvalidInput,
            "name it chainguard",
        ),
        (
            &shared,
            CacheSpec::aggregate(name("chainguard"), PackageFormat::Apk, vec![name("cg-a")]),
            ErrorKind::Unsupported,
            "aggregate caches of apk packages",
        ),
        (
            &shared,
            CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap()),
            ErrorKind::InvalidInput,
            "needs credentials",
        ),
    ];
    for (backend, spec, kind, expected) in refusals {
        for result in [
            backend.check_spec(&spec),
            backend.plan(&spec).await.map(drop),
            backend.ensure(&spec).await.map(drop),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), kind, "{}: {err:?}", spec.name);
            assert!(err.to_string().contains(expected), "{}: {err}", spec.name);
        }
    }
    // ...so a name with upper case or a dot is fine there.
    assert!(shared.check_spec(&public("CGR.public")).is_ok());
    assert!(own_log.records().is_empty() && shared_log.records().is_empty());
}

#[test]
fn the_builder_names_what_is_missing() {
    let err = CloudsmithClient::builder()
        .with_api_key("k")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: owner: none was given; call with_owner with the workspace's slug"
    );
    let err = CloudsmithClient::builder()
        .with_owner("acme")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: api_key: none was given; call with_api_key with a Cloudsmith API key"
    );
    let err = CloudsmithClient::builder()
        .from_env_with(|var| (var == "CLOUDSMITH_OWNER").then(|| "acme".to_owned()))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: api_key: CLOUDSMITH_API_KEY is not set; set it to a Cloudsmith API key \
         or call with_api_key"
    );
    let err = CloudsmithClient::builder()
        .with_owner("acme")
        .with_api_key_env("CLOUDSMITH_CLIENT_TEST_UNSET_VARIABLE")
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("CLOUDSMITH_CLIENT_TEST_UNSET_VARIABLE is not set"),
        "{err}"
    );
    let err = CloudsmithClient::builder()
        .from_env_with(|var| match var {
            "CLOUDSMITH_OWNER" => Some("acme/team".to_owned()),
            "CLOUDSMITH_API_KEY" => Some(KEY.to_owned()),
            _ => None,
        })
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid input: CLOUDSMITH_OWNER: "),
        "{err}"
    );
    let err = CloudsmithClient::builder()
        .with_owner("acme")
        .with_api_key("k")
        .with_user("linky@example.com")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("'@' is not allowed"), "{err}");
    // The key goes over plain http only to loopback.
    let err = CloudsmithClient::builder()
        .with_owner("acme")
        .with_api_key("k")
        .with_base_url("http://api.example.com/")
        .build()
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
}

#[test]
fn a_key_pasted_as_a_url_is_refused_without_echo() {
    let pasted = "ck_6f1d2a9b3c4e5f60718293a4b5c6d7e8f9a0b1c2";
    for url in [
        pasted.to_owned(),
        format!("https://{pasted}@api.cloudsmith.io/"),
        format!("https://api.cloudsmith.io/?api_key={pasted}"),
    ] {
        let err = CloudsmithClient::builder()
            .from_env_with(|var| match var {
                "CLOUDSMITH_OWNER" => Some("acme".to_owned()),
                "CLOUDSMITH_API_KEY" => Some(KEY.to_owned()),
                "CLOUDSMITH_API_URL" => Some(url.clone()),
                _ => None,
            })
            .build()
            .unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(shown.contains("CLOUDSMITH_API_URL"), "{shown}");
            assert!(!shown.contains(pasted), "{url} echoed: {shown}");
        }
    }
}

#[test]
fn secrets_stay_out_of_debug_and_client_access() {
    let builder = CloudsmithClient::builder()
        .with_owner("acme")
        .with_api_key(KEY)
        .with_user(USER);
    assert!(!format!("{builder:?}").contains(KEY));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(KEY));
    let backend = cloudsmith_client::CloudsmithBackend::new(client);
    assert!(!format!("{backend:?}").contains(KEY));

    let request = DockerUpstreamRequest::private("cgr-private", &pull_token());
    assert!(!format!("{request:?}").contains(PULL_TOKEN));
    let patch = DockerUpstreamPatch::default().with_secret(SecretString::from(PULL_TOKEN));
    assert!(!format!("{patch:?}").contains(PULL_TOKEN));

    let state = pull_through_core::CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/chainguard",
    );
    let access = backend.client_access(&state, None).unwrap();
    let shown = access.render(Reveal::Names);
    assert!(!shown.contains(KEY), "{shown}");
    assert!(
        shown.contains("--password \"$CLOUDSMITH_API_KEY\""),
        "{shown}"
    );
    assert!(!format!("{access:?}").contains(KEY));
    assert!(access.render(Reveal::Secrets).contains(KEY));
}

#[tokio::test]
async fn a_shared_layout_built_directly_is_checked_before_any_write() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    // The enum's field is public: nothing stops building it without Layout::shared.
    let (backend, recorder) = backend(
        &server,
        Layout::Shared {
            repository: "Chainguard Images".to_owned(),
        },
    );
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    for result in [
        backend.check_spec(&spec),
        backend.plan(&spec).await.map(drop),
        backend.ensure(&spec).await.map(drop),
        backend.delete(&name("cgr-public")).await.map(drop),
    ] {
        let err = result.unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
        assert!(
            err.to_string().contains("Cloudsmith repository slug"),
            "{err}"
        );
    }
    assert!(recorder.records().is_empty());
}
