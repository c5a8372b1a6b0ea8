//! `CloudsmithBackend` against wiremock, request by request, in a repository per cache: a
//! second ensure that writes nothing, the password rule (a rotation PATCHes `auth_secret`
//! alone), an upstream set up by hand taken over, and `fronts`. The shared layout is in
//! `aggregate.rs`, deletes in `deletes.rs`, verification in `verify.rs`.

mod common;

use cloudsmith_client::Layout;
use common::*;
use pull_through_core::{
    CacheName, CacheSpec, Ensured, PlanAction, PullThroughBackend, Upstream, UpstreamCredentials,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

fn private_spec(cache: &str, credentials: UpstreamCredentials) -> CacheSpec {
    CacheSpec::remote(
        name(cache),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    )
    .with_credentials(credentials)
}

async fn get(server: &MockServer, at: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .and(api_key())
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

fn not_found() -> Value {
    json!({"detail": "Not found."})
}

#[tokio::test]
async fn own_repository_the_first_ensure_creates_and_the_second_writes_nothing() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic)
        .with_description("Chainguard public images");
    get(&server, "/repos/acme/cgr-public/", 404, not_found()).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .and(api_key())
        .and(body_json(
            json!({"name": "cgr-public", "slug": "cgr-public",
            "repository_type_str": "Private", "storage_region": "default",
            "description": "Chainguard public images"}),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(repository("cgr-public", Some("Chainguard public images"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .and(api_key())
        .and(body_json(
            json!({"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard",
            "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true, "auth_mode": "None"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    let plan = backend.plan(&spec).await.unwrap();
    assert_eq!(
        plan.to_string(),
        "+ cgr-public\n    name: \"cgr-public\"\n    upstream_url: \"https://cgr.dev/chainguard\"\n    \
         mode: \"Cache and Proxy\"\n    priority: 1\n    verify_ssl: true\n    auth_mode: \"None\"\n    \
         description: \"Chainguard public images\""
    );
    let created = backend.ensure(&spec).await.unwrap();
    let Ensured::Created { state } = &created else {
        panic!("{created:?}")
    };
    assert_eq!(state.upstream_url(), Some("https://cgr.dev/chainguard"));
    assert_eq!(
        state.endpoint.as_deref(),
        Some(format!("{}/acme/cgr-public", server.address()).as_str())
    );
    server.verify().await;

    // Second run: the server holds what the first made.
    server.reset().await;
    nothing_else(&server).await;
    no_writes(&server).await;
    get(
        &server,
        "/repos/acme/cgr-public/",
        200,
        repository("cgr-public", Some("Chainguard public images")),
    )
    .await;
    // The server may store the URL with a trailing slash: not drift.
    get(
        &server,
        "/repos/acme/cgr-public/upstream/docker/",
        200,
        json!([upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard/",
            1,
            None
        )]),
    )
    .await;
    let second = backend.ensure(&spec).await.unwrap();
    assert!(matches!(second, Ensured::Unchanged { .. }), "{second:?}");
    assert!(matches!(
        backend.plan(&spec).await.unwrap().action,
        PlanAction::NoChange
    ));
    let described = backend.describe(&spec.name).await.unwrap().unwrap();
    assert_eq!(
        described.description.as_deref(),
        Some("Chainguard public images")
    );
}

#[tokio::test]
async fn a_rotation_patches_auth_secret_alone_and_a_new_username_with_it() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/cgr-private/",
        200,
        repository("cgr-private", None),
    )
    .await;
    get(
        &server,
        "/repos/acme/cgr-private/upstream/docker/",
        200,
        json!([upstream(
            "Up2",
            "cgr-private",
            "https://cgr.dev",
            1,
            Some(IDENTITY)
        )]),
    )
    .await;
    let answer = ResponseTemplate::new(200).set_body_json(upstream(
        "Up2",
        "cgr-private",
        "https://cgr.dev",
        1,
        Some(IDENTITY),
    ));
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/cgr-private/upstream/docker/Up2/"))
        .and(api_key())
        .and(body_json(json!({"auth_secret": "the-new-pull-token"})))
        .respond_with(answer.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/cgr-private/upstream/docker/Up2/"))
        .and(body_json(
            json!({"auth_username": "org/other-identity", "auth_secret": "the-new-pull-token"}),
        ))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    let (backend, recorder) = backend(&server, Layout::OwnRepository);

    // Another password alone is never compared: nothing written.
    let other = UpstreamCredentials::new(IDENTITY, "the-new-pull-token").unwrap();
    let unchanged = backend
        .ensure(&private_spec("cgr-private", other.clone()))
        .await
        .unwrap();
    assert!(
        matches!(unchanged, Ensured::Unchanged { .. }),
        "{unchanged:?}"
    );

    let rotated = backend
        .ensure(&private_spec("cgr-private", other).rotating_credentials())
        .await
        .unwrap();
    let Ensured::Updated { changes, .. } = &rotated else {
        panic!("{rotated:?}")
    };
    assert_eq!(
        changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ["password: (sensitive value) -> (sensitive value)"]
    );

    let renamed = UpstreamCredentials::new("org/other-identity", "the-new-pull-token").unwrap();
    let updated = backend
        .ensure(&private_spec("cgr-private", renamed))
        .await
        .unwrap();
    let Ensured::Updated { changes, .. } = &updated else {
        panic!("{updated:?}")
    };
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["username", "password"]);
    let writes: Vec<String> = calls(&recorder)
        .into_iter()
        .filter(|c| !c.starts_with("GET"))
        .collect();
    assert_eq!(
        writes,
        [
            "PATCH /repos/acme/cgr-private/upstream/docker/Up2/",
            "PATCH /repos/acme/cgr-private/upstream/docker/Up2/"
        ]
    );
}

#[tokio::test]
async fn an_upstream_set_up_by_hand_in_its_own_repository_is_taken_over() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/cgr-public/",
        200,
        repository("cgr-public", None),
    )
    .await;
    let mut by_hand = upstream("Hand", "Chainguard", "https://cgr.dev/chainguard/", 1, None);
    by_hand["mode"] = json!("Proxy Only");
    get(
        &server,
        "/repos/acme/cgr-public/upstream/docker/",
        200,
        json!([by_hand]),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/cgr-public/upstream/docker/Hand/"))
        .and(body_json(
            json!({"name": "cgr-public", "mode": "Cache and Proxy"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(upstream(
            "Hand",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    assert_eq!(
        backend.plan(&spec).await.unwrap().to_string(),
        "~ cgr-public\n    name: \"Chainguard\" -> \"cgr-public\"\n    mode: \"Proxy Only\" -> \"Cache and Proxy\""
    );
    let diagnosed = backend.diagnose(&spec.name).await.unwrap();
    assert_eq!(
        diagnosed
            .iter()
            .map(|d| d.check.as_str())
            .collect::<Vec<_>>(),
        ["mode"]
    );
    assert!(matches!(
        backend.ensure(&spec).await.unwrap(),
        Ensured::Updated { .. }
    ));
}

/// `destroy` asks `fronts` before deleting a remote: Cloudsmith's spelling of each upstream
/// is the cache's, the catalogue's `https://cgr.dev/` for public images is not.
#[tokio::test]
async fn fronts_reads_cloudsmith_s_spelling_of_each_upstream() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (backend, recorder) = backend(&server, Layout::OwnRepository);
    let private: Upstream = "cgr.dev/example.com".parse().unwrap();
    let other_org: Upstream = "cgr.dev/other.example".parse().unwrap();
    for (upstream, url, fronts) in [
        (&Upstream::CgrPublic, "https://cgr.dev/chainguard", true),
        (&Upstream::CgrPublic, "https://cgr.dev/chainguard/", true),
        (&Upstream::CgrPublic, "HTTPS://CGR.DEV/chainguard", true),
        (&Upstream::CgrPublic, "https://cgr.dev", false),
        (&Upstream::CgrPublic, "https://cgr.dev/", false),
        (&Upstream::CgrPublic, "https://cgr.dev/Chainguard", false),
        (&Upstream::CgrPublic, "http://cgr.dev/chainguard", false),
        (
            &Upstream::CgrPublic,
            "https://cgr.dev/chainguard/nginx",
            false,
        ),
        (
            &Upstream::CgrPublic,
            "https://u:p@cgr.dev/chainguard",
            false,
        ),
        (&private, "https://cgr.dev", true),
        (&private, "https://cgr.dev/", true),
        (&private, "https://cgr.dev/example.com", false),
        (&private, "https://cgr.dev/chainguard", false),
        (&other_org, "https://cgr.dev", true),
        (&private, "not a url", false),
    ] {
        assert_eq!(
            backend.fronts(upstream, url),
            fronts,
            "{upstream} at {url:?}"
        );
    }
    let apk: Upstream = "apk.cgr.dev/example.com".parse().unwrap();
    assert!(!backend.fronts(&apk, "https://apk.cgr.dev/example.com"));
    assert!(calls(&recorder).is_empty(), "fronts makes no request");
}
