//! The Cloudsmith fake's Docker registry, with plain reqwest following its challenge as
//! a Docker client does: the login (user slug and API key), public images without the
//! `chainguard/` prefix through `https://cgr.dev/chainguard`, private ones with the org
//! prefix through `https://cgr.dev` and the stored credentials, priorities, `Proxy Only`
//! against `Cache and Proxy`, forgetting a copy through the packages API.

mod cloudsmith_support;

use std::time::Duration;

use cloudsmith_support::{INDEX, MANIFEST, World, read, sha256, world, world_with};
use pull_through_sandbox::cloudsmith::{Cloudsmith, OWNER, USER};
use pull_through_sandbox::journal_contains;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PUBLIC: &str = "https://cgr.dev/chainguard";
const ROOT: &str = "https://cgr.dev";

/// A repository with an upstream of `https://cgr.dev` holding `secret` for `_token`.
async fn private_repo(w: &World, slug: &str, secret: &str) -> Value {
    w.create_repo(slug).await;
    w.create_upstream(
        slug,
        json!({"name": "cgr-private", "upstream_url": ROOT, "mode": "Cache and Proxy",
            "priority": 1, "verify_ssl": true, "auth_mode": "Username and Password",
            "auth_username": "_token", "auth_secret": secret}),
    )
    .await
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["errors"][0]["code"].as_str().unwrap().to_owned(),
        body["errors"][0]["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_registry_challenges_and_its_realm_takes_the_user_slug_and_key() {
    let w = world().await;
    let host = w.registry_host();
    let base = w.http.get(w.registry("v2/")).send().await.unwrap();
    assert_eq!(base.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        base.headers()["www-authenticate"],
        format!(r#"Bearer realm="http://{host}/v2/token",service="{host}""#).as_str()
    );
    let manifest = w
        .http
        .get(w.registry(&format!("v2/{OWNER}/cgr/nginx/manifests/latest")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        manifest.headers()["www-authenticate"],
        format!(
            r#"Bearer realm="http://{host}/v2/token",service="{host}",scope="repository:{OWNER}/cgr/nginx:pull""#
        )
        .as_str()
    );

    let realm = w.registry(&format!("v2/token?service={host}"));
    let anonymous = read(w.http.get(realm.clone()).send().await.unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body["errors"][0]["code"], "UNAUTHORIZED");
    for (user, key) in [(USER, "wrong".to_owned()), ("someone", w.key())] {
        let refused = w
            .http
            .get(realm.clone())
            .basic_auth(user, Some(key))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{user}");
    }
    let token: Value = w
        .http
        .get(realm)
        .basic_auth(USER, Some(w.key()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap();
    let opened = w
        .http
        .get(w.registry("v2/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(
        opened.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    let forged = w
        .http
        .get(w.registry("v2/"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // Basic straight on a path, as some clients send it.
    let direct = w
        .http
        .get(w.registry("v2/"))
        .basic_auth(USER, Some(w.key()))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_registry_token_expires_after_its_expires_in() {
    let token_for = |w: &World| {
        let realm = w.registry(&format!("v2/token?service={}", w.registry_host()));
        let request = w.http.get(realm).basic_auth(USER, Some(w.key()));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let fresh = world().await;
    let answer = token_for(&fresh).await;
    assert_eq!(answer["expires_in"], 300);
    let opened = fresh
        .http
        .get(fresh.registry("v2/"))
        .bearer_auth(answer["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::OK);

    // A token good for no time at all is refused with a new challenge at once.
    let w = world_with(Cloudsmith::new().registry_token_lifetime(Duration::ZERO)).await;
    let answer = token_for(&w).await;
    assert_eq!(answer["expires_in"], 0);
    let expired = w
        .http
        .get(w.registry("v2/"))
        .bearer_auth(answer["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert!(expired.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn a_public_image_comes_without_the_chainguard_prefix() {
    let w = world().await;
    w.repo_with_upstream("cgr", PUBLIC, "Cache and Proxy").await;
    let digest = w.pull_image("cgr", "nginx", "latest").await;
    let packages = w.cloudsmith.packages("cgr");
    assert_eq!(packages.len(), 1);
    assert_eq!(
        (packages[0].name.as_str(), packages[0].version.as_str()),
        ("nginx", "latest")
    );
    // The index twice (by tag and digest), two manifests, two configs, two layers.
    assert_eq!(packages[0].files, 8);

    let by_digest = w
        .pull(&format!("{OWNER}/cgr/nginx/manifests/{digest}"), INDEX)
        .await;
    assert_eq!(by_digest.status(), StatusCode::OK);
    // The prefix is the upstream URL's: asking for it again finds nothing upstream.
    let prefixed = w
        .pull(
            &format!("{OWNER}/cgr/chainguard/nginx/manifests/latest"),
            INDEX,
        )
        .await;
    let (status, code, message) = error_code(prefixed).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN")
    );
    assert!(
        message.contains("answered 404 for chainguard/chainguard/nginx/manifests/latest"),
        "{message}"
    );
    // What went upstream: cgr.dev's own path.
    assert!(
        w.sandbox
            .journal()
            .entries_for("cgr.dev")
            .iter()
            .any(|e| e.path == "/v2/chainguard/nginx/manifests/latest")
    );
}

#[tokio::test]
async fn a_client_without_index_support_gets_the_amd64_manifest_and_head_has_no_body() {
    let w = world().await;
    w.repo_with_upstream("cgr", PUBLIC, "Proxy Only").await;
    let path = format!("{OWNER}/cgr/go/manifests/latest");
    let manifest = w.pull(&path, MANIFEST).await;
    assert_eq!(manifest.status(), StatusCode::OK);
    assert_eq!(manifest.headers()["content-type"], MANIFEST);
    let digest = manifest.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = manifest.bytes().await.unwrap();
    assert_eq!(sha256(&body), digest);
    let config: Value = serde_json::from_slice(&body).unwrap();
    let config_digest = config["config"]["digest"].as_str().unwrap();
    let config = w
        .pull(&format!("{OWNER}/cgr/go/blobs/{config_digest}"), "*/*")
        .await;
    let config: Value = config.json().await.unwrap();
    assert_eq!(config["architecture"], "amd64");

    let head = w.pull_with(Method::HEAD, &path, INDEX, &w.key()).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-type"], INDEX);
    assert!(
        head.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 0
    );
    assert!(head.bytes().await.unwrap().is_empty());
    assert!(
        w.cloudsmith.packages("cgr").is_empty(),
        "Proxy Only keeps nothing"
    );
}

#[tokio::test]
async fn https_cgr_dev_serves_the_org_registry_with_the_stored_credentials() {
    let w = world().await;
    let token = w.cgr_token().await;
    private_repo(&w, "prod", &token).await;
    w.pull_image("prod", "example.com/chainguard-base", "latest")
        .await;
    // One upstream at https://cgr.dev serves public images too, with their prefix.
    w.pull_image("prod", "chainguard/nginx", "latest-dev").await;
    let names: Vec<(String, String)> = w
        .cloudsmith
        .packages("prod")
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    assert_eq!(
        names,
        [
            (
                "example.com/chainguard-base".to_owned(),
                "latest".to_owned()
            ),
            ("chainguard/nginx".to_owned(), "latest-dev".to_owned()),
        ]
    );
    let journal = w.sandbox.journal();
    assert!(
        !journal_contains(&journal, &token),
        "the stored secret reached the journal"
    );
    assert!(
        !journal_contains(&journal, &w.key()),
        "the API key reached the journal"
    );
    // The stored credentials went to cgr.dev's token endpoint, as Basic.
    let token_calls: Vec<_> = journal
        .entries_for("cgr.dev")
        .into_iter()
        .filter(|e| e.path == "/token")
        .collect();
    assert!(
        token_calls
            .iter()
            .all(|e| e.header("authorization") == Some("Basic [REDACTED]"))
    );
}

#[tokio::test]
async fn a_wrong_stored_secret_fails_the_pull_until_it_is_rotated() {
    let w = world().await;
    let upstream = private_repo(&w, "prod", "not-a-token").await;
    let path = format!("{OWNER}/prod/example.com/chainguard-base/manifests/latest");
    let (status, code, message) = error_code(w.pull(&path, INDEX).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN")
    );
    assert!(
        message.contains("upstream cgr-private (https://cgr.dev) answered 401"),
        "{message}"
    );
    assert!(w.cloudsmith.packages("prod").is_empty());

    let one = format!(
        "repos/{OWNER}/prod/upstream/docker/{}/",
        upstream["slug_perm"].as_str().unwrap()
    );
    let rotated = w
        .call(
            Method::PATCH,
            &one,
            Some(json!({"auth_secret": w.cgr_token().await})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    assert_eq!(w.pull(&path, INDEX).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn any_other_upstream_url_fails_the_pull() {
    // "any other URL here will cause an error": the organization's registry in the URL,
    // which cgr.dev itself would serve, does not work through Cloudsmith.
    let w = world().await;
    let token = w.cgr_token().await;
    w.create_repo("prod").await;
    w.create_upstream(
        "prod",
        json!({"name": "cgr-org", "upstream_url": "https://cgr.dev/example.com",
            "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true,
            "auth_mode": "Username and Password", "auth_username": "_token",
            "auth_secret": token}),
    )
    .await;
    let path = format!("{OWNER}/prod/chainguard-base/manifests/latest");
    let (status, code, message) = error_code(w.pull(&path, INDEX).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN")
    );
    assert!(
        message.contains(
            "upstream cgr-org (https://cgr.dev/example.com) is neither https://cgr.dev/chainguard \
             nor https://cgr.dev"
        ),
        "{message}"
    );
    assert!(
        w.sandbox.journal().entries_for("cgr.dev").is_empty(),
        "nothing may be asked of cgr.dev"
    );
}

#[tokio::test]
async fn upstreams_are_tried_by_ascending_priority_and_inactive_ones_skipped() {
    let w = world().await;
    w.create_repo("cgr").await;
    let public = w
        .create_upstream(
            "cgr",
            json!({"name": "public", "upstream_url": PUBLIC, "priority": 2, "mode": "Proxy Only"}),
        )
        .await;
    // Priority 1, anonymous at the root: `nginx` is not an image there.
    w.create_upstream(
        "cgr",
        json!({"name": "root", "upstream_url": ROOT, "priority": 1, "mode": "Proxy Only"}),
    )
    .await;
    let mark = w.sandbox.journal().last_seq();
    let pulled = w
        .pull(&format!("{OWNER}/cgr/nginx/manifests/latest"), INDEX)
        .await;
    assert_eq!(pulled.status(), StatusCode::OK);
    let asked: Vec<String> = w
        .sandbox
        .journal()
        .since(mark)
        .into_iter()
        .filter(|e| e.service == "cgr.dev" && e.path.contains("/manifests/"))
        .map(|e| e.path)
        .collect();
    assert_eq!(
        asked.first().map(String::as_str),
        Some("/v2/nginx/manifests/latest"),
        "priority 1 first"
    );
    assert_eq!(
        asked.last().map(String::as_str),
        Some("/v2/chainguard/nginx/manifests/latest")
    );

    let one = format!(
        "repos/{OWNER}/cgr/upstream/docker/{}/",
        public["slug_perm"].as_str().unwrap()
    );
    w.call(Method::PATCH, &one, Some(json!({"is_active": false})))
        .await;
    let refused = w
        .pull(&format!("{OWNER}/cgr/nginx/manifests/latest"), INDEX)
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn proxy_only_keeps_no_copy_and_cache_and_proxy_keeps_one_until_forgotten() {
    let w = world().await;
    let proxy = w.repo_with_upstream("proxy", PUBLIC, "Proxy Only").await;
    let cache = w
        .repo_with_upstream("cache", PUBLIC, "Cache and Proxy")
        .await;
    w.pull_image("proxy", "nginx", "latest").await;
    w.pull_image("cache", "nginx", "latest").await;
    assert!(w.cloudsmith.packages("proxy").is_empty());
    assert_eq!(w.cloudsmith.packages("cache").len(), 1);
    let counted = w.get(&format!("repos/{OWNER}/cache/")).await;
    assert_eq!(counted.body["package_count"], 1);

    // The upstreams go: the copy still answers, the proxy has nothing.
    for (repo, upstream) in [("proxy", &proxy), ("cache", &cache)] {
        let one = format!(
            "repos/{OWNER}/{repo}/upstream/docker/{}/",
            upstream["slug_perm"].as_str().unwrap()
        );
        assert_eq!(
            w.call(Method::DELETE, &one, None).await.status,
            StatusCode::NO_CONTENT
        );
    }
    let (status, _, message) = error_code(
        w.pull(&format!("{OWNER}/proxy/nginx/manifests/latest"), INDEX)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message.contains("no active Docker upstream"), "{message}");
    w.pull_image("cache", "nginx", "latest").await;
    let tags: Value = w
        .pull(&format!("{OWNER}/cache/nginx/tags/list"), "*/*")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        tags,
        json!({"name": format!("{OWNER}/cache/nginx"), "tags": ["latest"]})
    );

    // Forgotten through the packages API, as a client empties a cache.
    let listed = w
        .get(&format!("packages/{OWNER}/cache/?query=name:nginx"))
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let packages = listed.body.as_array().unwrap();
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["name"], "nginx");
    assert_eq!(packages[0]["format"], "docker");
    assert_eq!(packages[0]["version"], "latest");
    let perm = packages[0]["slug_perm"].as_str().unwrap();
    assert_eq!(
        w.get(&format!("packages/{OWNER}/cache/?query=name:go"))
            .await
            .body,
        json!([])
    );
    let one = format!("packages/{OWNER}/cache/{perm}/");
    assert_eq!(w.get(&one).await.body, packages[0]);
    assert_eq!(
        w.call(Method::DELETE, &one, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.call(Method::DELETE, &one, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(w.cloudsmith.packages("cache").is_empty());
    let gone = w
        .pull(&format!("{OWNER}/cache/nginx/manifests/latest"), INDEX)
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tags_come_from_the_upstreams() {
    let w = world().await;
    w.repo_with_upstream("cgr", PUBLIC, "Cache and Proxy").await;
    let tags = w
        .pull(&format!("{OWNER}/cgr/mariadb/tags/list?n=1"), "*/*")
        .await;
    assert_eq!(tags.status(), StatusCode::OK);
    assert_eq!(
        tags.headers()["link"],
        format!(r#"</v2/{OWNER}/cgr/mariadb/tags/list?n=1&last=latest>; rel="next""#).as_str()
    );
    let tags: Value = tags.json().await.unwrap();
    assert_eq!(
        tags,
        json!({"name": format!("{OWNER}/cgr/mariadb"), "tags": ["latest"]})
    );
    let unknown = w
        .pull(&format!("{OWNER}/cgr/not-an-image/tags/list"), "*/*")
        .await;
    assert_eq!(error_code(unknown).await.1, "NAME_UNKNOWN");
}

#[tokio::test]
async fn another_workspace_is_denied_and_an_unknown_repository_unknown() {
    let w = world().await;
    let (status, code, _) = error_code(
        w.pull("someone-else/cgr/nginx/manifests/latest", INDEX)
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "DENIED"));
    let (status, code, _) = error_code(
        w.pull(&format!("{OWNER}/nope/nginx/manifests/latest"), INDEX)
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "NAME_UNKNOWN")
    );
    let (status, code, _) = error_code(
        w.pull(&format!("{OWNER}/nope/manifests/latest"), INDEX)
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "NAME_UNKNOWN")
    );
    // A wrong key never gets a token: the realm refuses it.
    let realm = w.registry("v2/token");
    let refused = w
        .http
        .get(realm)
        .basic_auth(USER, Some("0123"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}
