//! `CloudsmithBackend` against wiremock, request by request: both layouts, a second ensure
//! that writes nothing, the password rule (a rotation PATCHes `auth_secret` alone), the
//! aggregate's order, deletes, and a verification through the registry's challenge.

mod common;

use cloudsmith_client::Layout;
use common::*;
use pull_through_core::{
    CacheName, CacheSpec, Ensured, PackageFormat, PlanAction, Probe, PullThroughBackend, Upstream,
    UpstreamCredentials,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
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

/// The marker the aggregate's ensure writes as the last line of the repository's
/// description.
const MARKER: &str = "[pull-through: aggregate, the order of these upstreams]";

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
async fn the_shared_layout_holds_both_upstreams_and_the_aggregate_orders_them() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (backend, recorder) = backend(&server, Layout::shared("chainguard").unwrap());
    let public = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    let private = private_spec("cgr-private", pull_token());

    // The public cache: the repository is made, its upstream first in line.
    get(&server, "/repos/acme/chainguard/", 404, not_found()).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .and(body_json(
            json!({"name": "chainguard", "slug": "chainguard",
            "repository_type_str": "Private", "storage_region": "default"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(repository("chainguard", None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .and(body_json(
            json!({"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard",
            "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true, "auth_mode": "None"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Pub",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    assert!(matches!(
        backend.ensure(&public).await.unwrap(),
        Ensured::Created { .. }
    ));
    server.verify().await;

    // The private cache joins it, after the public one.
    server.reset().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/chainguard/",
        200,
        repository("chainguard", None),
    )
    .await;
    get(
        &server,
        "/repos/acme/chainguard/upstream/docker/",
        200,
        json!([upstream(
            "Pub",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .and(body_json(
            json!({"name": "cgr-private", "upstream_url": "https://cgr.dev",
            "mode": "Cache and Proxy", "priority": 2, "verify_ssl": true,
            "auth_mode": "Username and Password", "auth_username": IDENTITY,
            "auth_secret": PULL_TOKEN}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Priv",
            "cgr-private",
            "https://cgr.dev",
            2,
            Some(IDENTITY),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let created = backend.ensure(&private).await.unwrap();
    let Ensured::Created { state } = &created else {
        panic!("{created:?}")
    };
    assert_eq!(state.name.as_str(), "cgr-private");
    server.verify().await;

    // The aggregate puts the organization's images first. The repository carries no
    // marker yet, so the aggregate is created: the order is set, then the marker written.
    server.reset().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/chainguard/",
        200,
        repository("chainguard", None),
    )
    .await;
    let before = json!([
        upstream("Pub", "cgr-public", "https://cgr.dev/chainguard", 1, None),
        upstream("Priv", "cgr-private", "https://cgr.dev", 2, Some(IDENTITY))
    ]);
    let after = json!([
        upstream("Priv", "cgr-private", "https://cgr.dev", 1, Some(IDENTITY)),
        upstream("Pub", "cgr-public", "https://cgr.dev/chainguard", 2, None)
    ]);
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(before.clone()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(after))
        .mount(&server)
        .await;
    for (slug_perm, priority) in [("Priv", 1), ("Pub", 2)] {
        Mock::given(method("PATCH"))
            .and(path(format!(
                "/repos/acme/chainguard/upstream/docker/{slug_perm}/"
            )))
            .and(body_json(json!({"priority": priority})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "slug_perm": slug_perm, "name": "x", "upstream_url": "https://cgr.dev"})))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/chainguard/"))
        .and(body_json(json!({"description": MARKER})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(repository("chainguard", Some(MARKER))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let order = CacheSpec::aggregate(
        name("chainguard"),
        PackageFormat::Docker,
        vec![name("cgr-private"), name("cgr-public")],
    );
    let plan = backend.plan(&order).await.unwrap();
    assert!(matches!(plan.action, PlanAction::Create { .. }), "{plan}");
    recorder.clear();
    let ordered = backend.ensure(&order).await.unwrap();
    let Ensured::Created { state } = &ordered else {
        panic!("{ordered:?}")
    };
    assert_eq!(
        state.members().unwrap(),
        [name("cgr-private"), name("cgr-public")]
    );
    assert_eq!(state.description, None, "the marker is no description");
    assert_eq!(
        calls(&recorder),
        [
            "GET /repos/acme/chainguard/",
            "GET /repos/acme/chainguard/",
            "GET /repos/acme/chainguard/upstream/docker/",
            "PATCH /repos/acme/chainguard/upstream/docker/Priv/",
            "PATCH /repos/acme/chainguard/upstream/docker/Pub/",
            "GET /repos/acme/chainguard/upstream/docker/",
            "PATCH /repos/acme/chainguard/"
        ]
    );
    // The public cache does not undo the order: its priority is not compared here.
    let again = backend.ensure(&public).await.unwrap();
    assert!(matches!(again, Ensured::Unchanged { .. }), "{again:?}");
    // Nor is a description, which an upstream does not have: the plan says so.
    let described = backend
        .plan(&public.clone().with_description("Chainguard public images"))
        .await
        .unwrap();
    assert!(!described.has_changes());
    assert_eq!(
        described.notes,
        [
            "the description is not stored: an upstream has none, and repository chainguard's \
          is its aggregate's"
        ]
    );
}

#[tokio::test]
async fn a_delete_takes_the_repository_only_when_it_holds_nothing_else() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/cgr-public/",
        200,
        repository("cgr-public", None),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    get(
        &server,
        "/repos/acme/cgr-public/upstream/docker/",
        200,
        json!([]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/cgr-public/upstream/docker/Up1/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/cgr-public/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    no_other_formats(&server, "cgr-public").await;
    let (own, _) = backend(&server, Layout::OwnRepository);
    assert_eq!(
        own.delete(&name("cgr-public")).await.unwrap(),
        pull_through_core::Deleted::Removed
    );
    server.verify().await;

    // A repository holding another upstream is kept.
    server.reset().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/cgr-public/",
        200,
        repository("cgr-public", None),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            upstream("Up1", "cgr-public", "https://cgr.dev/chainguard", 1, None),
            upstream("Hub", "docker-hub", "https://index.docker.io", 2, None)
        ])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    get(
        &server,
        "/repos/acme/cgr-public/upstream/docker/",
        200,
        json!([upstream(
            "Hub",
            "docker-hub",
            "https://index.docker.io",
            2,
            None
        )]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/cgr-public/upstream/docker/Up1/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        own.delete(&name("cgr-public")).await.unwrap(),
        pull_through_core::Deleted::Removed
    );
    server.verify().await;
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

#[tokio::test]
async fn verify_pulls_through_the_registry_without_the_chainguard_prefix() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let realm = format!("{}/v2/token", server.uri());
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\",service=\"{}\"", server.address()).as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{KEY}"))
    };
    Mock::given(method("GET"))
        .and(path("/v2/token"))
        .and(query_param("scope", "repository:acme/cgr-public/go:pull"))
        .and(query_param(
            "service",
            server.address().to_string().as_str(),
        ))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token": "registry-token-1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/acme/cgr-public/go/manifests/latest"))
        .and(header("authorization", "Bearer registry-token-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("docker-content-digest", "sha256:abc123")
                .set_body_json(json!({"schemaVersion": 2})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    let state = pull_through_core::CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/chainguard",
    );
    let verification = backend
        .verify(&state, &Probe::default_for(&Upstream::CgrPublic))
        .await
        .unwrap();
    assert!(verification.passed(), "{verification}");
    assert_eq!(
        verification.checks[0].step,
        format!("manifest {}/acme/cgr-public/go:latest", server.address())
    );
}

#[tokio::test]
async fn a_repository_just_made_but_not_yet_found_is_waited_for() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    get(&server, "/repos/acme/cgr-public/", 404, not_found()).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(repository("cgr-public", None)))
        .expect(1)
        .mount(&server)
        .await;
    // Cloudsmith replicates across regions: the new repository is not found at first.
    Mock::given(method("POST"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(not_found()))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
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
    let (client, _) = client_with(&server, quick_retry());
    let backend = cloudsmith_client::CloudsmithBackend::new(client);
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    assert!(matches!(
        backend.ensure(&spec).await.unwrap(),
        Ensured::Created { .. }
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
