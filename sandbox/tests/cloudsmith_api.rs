//! The Cloudsmith fake's API: authentication, `/user/self/`, namespaces, repositories
//! with their checks and envelopes, pagination and the rate limit.

mod cloudsmith_support;

use std::time::Duration;

use cloudsmith_support::{World, read, world, world_with};
use pull_through_sandbox::cloudsmith::{Cloudsmith, OWNER, USER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn is_slug_perm(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == 12 && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[tokio::test]
async fn user_self_tells_the_key_from_anonymous_callers() {
    let w = world().await;
    let me = w.get("user/self/").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(is_slug_perm(&me.body["slug_perm"]), "{}", me.body);
    let mut body = me.body.clone();
    body.as_object_mut().unwrap().remove("slug_perm");
    assert_eq!(
        body,
        json!({
            "authenticated": true,
            "email": "sandbox-user@example.com",
            "name": "Sandbox User",
            "profile_url": "https://cloudsmith.io/~sandbox-user/",
            "self_url": w.api("users/profile/sandbox-user/").as_str(),
            "slug": USER,
        })
    );

    let anonymous = read(w.http.get(w.api("user/self/")).send().await.unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.body["authenticated"], false);
    assert_eq!(anonymous.body["slug"], Value::Null);

    let wrong = read(
        w.http
            .get(w.api("user/self/"))
            .header("X-Api-Key", "0000")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, json!({"detail": "Invalid token."}));
}

#[tokio::test]
async fn keys_are_checked_and_other_workspaces_are_forbidden() {
    let w = world().await;
    let path = format!("repos/{OWNER}/");
    let missing = read(w.http.get(w.api(&path)).send().await.unwrap()).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.body,
        json!({"detail": "Authentication credentials were not provided."})
    );
    let wrong = read(
        w.http
            .get(w.api(&path))
            .header("X-Api-Key", format!("{}x", w.key()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, json!({"detail": "Invalid token."}));
    // The docs' other form.
    let token_form = w
        .http
        .get(w.api(&path))
        .header("Authorization", format!("token {}", w.key()))
        .send()
        .await
        .unwrap();
    assert_eq!(token_form.status(), StatusCode::OK);
    // Forms the reference does not document for API keys are not read as one.
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", w.key()))
    };
    for authorization in [format!("Bearer {}", w.key()), format!("Basic {basic}")] {
        let refused = read(
            w.http
                .get(w.api(&path))
                .header("Authorization", authorization)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused.body,
            json!({"detail": "Authentication credentials were not provided."})
        );
    }

    for (method, other) in [
        (Method::GET, "repos/someone-else/"),
        (Method::POST, "repos/someone-else/"),
        (Method::GET, "repos/someone-else/x/upstream/docker/"),
        (Method::GET, "packages/someone-else/x/"),
    ] {
        let answer = w.call(method, other, Some(json!({"name": "ab"}))).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{other}");
        assert_eq!(
            answer.body,
            json!({"detail": "You do not have permission to perform this action."})
        );
    }
}

#[tokio::test]
async fn namespaces_status_prefix_and_unknown_paths() {
    let w = world().await;
    let ns = w.get(&format!("namespaces/{OWNER}/")).await;
    assert_eq!(ns.status, StatusCode::OK);
    assert_eq!(ns.body["slug"], OWNER);
    assert_eq!(ns.body["type_name"], "Organization");
    // The workspace's slug_perm names it too.
    let by_perm = w
        .get(&format!(
            "namespaces/{}/",
            ns.body["slug_perm"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_perm.body, ns.body);
    let listed = w.get("namespaces/").await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert_eq!(listed.body[0], ns.body);
    let other = w.get("namespaces/someone-else/").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(other.body, json!({"detail": "Not found."}));

    let status = read(
        w.http
            .get(w.api("status/check/basic/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.body["detail"], "Cloudsmith API is operational.");

    assert_eq!(w.get("v1/user/self/").await.body["authenticated"], true);
    let no_slash = w.get("user/self").await;
    assert_eq!(no_slash.status, StatusCode::NOT_FOUND);
    assert_eq!(no_slash.body, json!({"detail": "Not found."}));
    assert!(no_slash.header("x-ratelimit-remaining").is_some());
    let put = w.call(Method::PUT, "user/self/", None).await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.body, json!({"detail": "Method \"PUT\" not allowed."}));
    assert!(put.header("x-ratelimit-remaining").is_some());
    let regions = w.get("storage-regions/").await;
    assert!(
        regions
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["slug"] == "ie-dublin")
    );
}

#[tokio::test]
async fn a_repository_is_created_read_listed_updated_and_deleted() {
    let w = world().await;
    let created = w
        .call(
            Method::POST,
            &format!("repos/{OWNER}/"),
            Some(json!({"name": "Chainguard images", "slug": "cgr-images",
                "repository_type_str": "Private", "storage_region": "default",
                "description": "pull-through", "not_a_field": 1})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let repo = created.body;
    assert!(is_slug_perm(&repo["slug_perm"]));
    for (field, value) in [
        ("name", json!("Chainguard images")),
        ("slug", json!("cgr-images")),
        ("repository_type_str", json!("Private")),
        ("storage_region", json!("default")),
        ("description", json!("pull-through")),
        ("namespace", json!(OWNER)),
        (
            "self_url",
            json!(w.api(&format!("repos/{OWNER}/cgr-images/")).as_str()),
        ),
        ("is_private", json!(true)),
        ("is_public", json!(false)),
        ("content_kind", json!("Standard")),
        ("broadcast_state", json!("Off")),
        ("default_privilege", json!("None")),
        ("deleted_at", Value::Null),
        ("package_count", json!(0)),
    ] {
        assert_eq!(repo[field], value, "{field}");
    }
    assert!(
        repo.get("not_a_field").is_none(),
        "unknown fields are ignored"
    );
    assert_eq!(w.cloudsmith.repository_slugs(), ["cgr-images"]);

    let perm = repo["slug_perm"].as_str().unwrap();
    let by_slug = w.get(&format!("repos/{OWNER}/cgr-images/")).await;
    let by_perm = w.get(&format!("repos/{OWNER}/{perm}/")).await;
    assert_eq!(by_slug.status, StatusCode::OK);
    assert_eq!(by_slug.body, repo);
    assert_eq!(by_perm.body, repo);
    assert_eq!(w.get(&format!("repos/{OWNER}/")).await.body, json!([repo]));
    assert_eq!(w.get("repos/").await.body, json!([repo]));

    let patched = w
        .call(
            Method::PATCH,
            &format!("repos/{OWNER}/{perm}/"),
            Some(json!({"description": "changed", "storage_region": "mars"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["description"], "changed");
    assert_eq!(patched.body["storage_region"], "default", "not patchable");

    let deleted = w
        .call(Method::DELETE, &format!("repos/{OWNER}/cgr-images/"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = w.get(&format!("repos/{OWNER}/cgr-images/")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body, json!({"detail": "Not found."}));
    let again = w
        .call(Method::DELETE, &format!("repos/{OWNER}/cgr-images/"), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(w.cloudsmith.repository_slugs().is_empty());
    // The fake frees the slug at once (the real service keeps it for a while).
    w.create_repo("cgr-images").await;
}

#[tokio::test]
async fn a_slug_is_made_from_the_name_when_none_is_given() {
    let w = world().await;
    let path = format!("repos/{OWNER}/");
    let first = w
        .call(
            Method::POST,
            &path,
            Some(json!({"name": "Chainguard Images"})),
        )
        .await;
    assert_eq!(first.body["slug"], "chainguard-images");
    assert_eq!(
        first.body["repository_type_str"], "Public",
        "the API's default"
    );
    let second = w
        .call(
            Method::POST,
            &path,
            Some(json!({"name": "Chainguard (images)"})),
        )
        .await;
    assert_eq!(second.body["slug"], "chainguard-images-2");
}

/// Every refusal of a repository write, with its envelope.
#[tokio::test]
async fn repository_refusals_name_the_field() {
    let w = world().await;
    w.create_repo("taken").await;
    let path = format!("repos/{OWNER}/");
    let cases = [
        (json!({}), json!({"name": ["This field is required."]})),
        (
            json!({"name": "a"}),
            json!({"name": ["This value does not match the required pattern."]}),
        ),
        (
            json!({"name": "a".repeat(51)}),
            json!({"name": ["Ensure this field has no more than 50 characters."]}),
        ),
        (
            json!({"name": "ok", "slug": "Bad Slug"}),
            json!({"slug": ["Enter a valid slug: at least 2 characters, each a lower-case letter, a digit, a hyphen or an underscore."]}),
        ),
        (
            json!({"name": "ok", "repository_type_str": "private"}),
            json!({"repository_type_str": ["\"private\" is not a valid choice."]}),
        ),
        (
            json!({"name": "ok", "repository_type_str": "Open-Source"}),
            json!({"repository_type_str": ["Open-Source repositories cannot be created or converted via the API."]}),
        ),
        (
            json!({"name": "ok", "storage_region": "mars"}),
            json!({"storage_region": ["\"mars\" is not a valid choice."]}),
        ),
        (
            json!({"name": "ok", "slug": "taken"}),
            json!({"slug": ["A repository with this slug already exists."]}),
        ),
        (
            json!({"name": null, "index_files": "yes", "default_privilege": "Owner"}),
            json!({"name": ["This field may not be null."],
                "index_files": ["Must be a valid boolean."],
                "default_privilege": ["\"Owner\" is not a valid choice."]}),
        ),
    ];
    for (body, fields) in cases {
        let answer = w.call(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            answer.body,
            json!({"detail": "Invalid input.", "fields": fields, "code": "invalid"}),
            "{body}"
        );
    }
    let patch = w
        .call(
            Method::PATCH,
            &format!("repos/{OWNER}/taken/"),
            Some(json!({"content_kind": "Upstream"})),
        )
        .await;
    assert_eq!(patch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        patch.body["fields"],
        json!({"content_kind": ["The content kind of a repository can only be set when it is created."]})
    );

    let bad_json = w.call_raw(Method::POST, &path, "{\"name\": ").await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_json.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{}",
        bad_json.body
    );
    assert_eq!(bad_json.body["code"], "invalid");
    assert_eq!(bad_json.body["fields"], json!({}));
    let array = w.call_raw(Method::POST, &path, "[]").await;
    assert_eq!(array.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        array.body,
        json!({"detail": "Invalid data. Expected a dictionary, but got list.",
            "fields": {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
            "code": "invalid"})
    );
    assert_eq!(w.cloudsmith.repository_slugs(), ["taken"]);
}

async fn three_repositories() -> World {
    let w = world().await;
    for slug in ["aa", "bb", "cc"] {
        w.create_repo(slug).await;
    }
    w
}

#[tokio::test]
async fn lists_are_paginated_with_headers_and_links() {
    let w = world().await;
    let empty = w.get(&format!("repos/{OWNER}/")).await;
    assert_eq!(empty.body, json!([]));
    assert_eq!(
        empty.header("x-pagination-count"),
        None,
        "empty lists are not paginated"
    );
    drop(w);

    let w = three_repositories().await;
    let path = format!("repos/{OWNER}/");
    let first = w.get(&format!("{path}?page_size=2&sort=name")).await;
    let slugs = |answer: &cloudsmith_support::Answer| {
        answer
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["slug"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(slugs(&first), ["aa", "bb"]);
    for (name, value) in [
        ("x-pagination-count", "3"),
        ("x-pagination-page", "1"),
        ("x-pagination-pagesize", "2"),
        ("x-pagination-pagetotal", "2"),
    ] {
        assert_eq!(first.header(name), Some(value), "{name}");
    }
    let base = w.api(&path);
    let link =
        |page: u32, rel: &str| format!("<{base}?sort=name&page={page}&page_size=2>; rel=\"{rel}\"");
    assert_eq!(
        first.header("link").unwrap(),
        [link(1, "first"), link(2, "next"), link(2, "last")].join(", ")
    );
    let second = w.get(&format!("{path}?page_size=2&sort=name&page=2")).await;
    assert_eq!(slugs(&second), ["cc"]);
    assert_eq!(
        second.header("link").unwrap(),
        [link(1, "first"), link(1, "prev"), link(2, "last")].join(", ")
    );
    let past = w.get(&format!("{path}?page_size=2&page=3")).await;
    assert_eq!(past.status, StatusCode::NOT_FOUND);
    assert_eq!(past.body, json!({"detail": "Invalid page."}));
    let clamped = w.get(&format!("{path}?page_size=1000")).await;
    assert_eq!(clamped.header("x-pagination-pagesize"), Some("500"));
    assert_eq!(clamped.header("link"), None, "one page: no links");
    // Newest first by default; a query searches names and slugs.
    assert_eq!(slugs(&w.get(&path).await), ["cc", "bb", "aa"]);
    assert_eq!(
        slugs(&w.get(&format!("{path}?query=slug:bb")).await),
        ["bb"]
    );
}

#[tokio::test]
async fn every_answer_carries_the_rate_limit_headers() {
    let w = world().await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let answer = w.get("user/self/").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("x-ratelimit-limit"), Some("5400"));
        assert_eq!(answer.header("x-ratelimit-interval"), Some("0.000"));
        let reset: u64 = answer.header("x-ratelimit-reset").unwrap().parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(reset > now && reset <= now + 3601, "{reset} {now}");
        remaining.push(answer.header("x-ratelimit-remaining").unwrap().to_owned());
    }
    assert_eq!(remaining, ["5399", "5398", "5397"]);
    // Refusals carry them too.
    let refused = read(w.http.get(w.api("repos/x/")).send().await.unwrap()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.header("x-ratelimit-remaining").is_some());
}

#[tokio::test]
async fn past_the_rate_a_key_gets_429_with_retry_after() {
    let w = world_with(Cloudsmith::new().rate_limit(3, Duration::from_secs(3600))).await;
    for expected in ["2", "1", "0"] {
        let answer = w.get("user/self/").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(answer.header("x-ratelimit-remaining"), Some(expected));
    }
    let throttled = w.get(&format!("repos/{OWNER}/")).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert_eq!(
        throttled.body,
        json!({"detail": format!("Request was throttled. Expected available in {wait} seconds.")})
    );
    assert_eq!(throttled.header("x-ratelimit-remaining"), Some("0"));
    // Anonymous callers have a window of their own.
    let anonymous = w.http.get(w.api("user/self/")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::OK);
    // A reset of the sandbox starts the windows again.
    w.sandbox.reset();
    assert_eq!(w.get("user/self/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_env_has_exactly_the_contracts_variables_and_reset_empties_the_workspace() {
    let w = world().await;
    let cloudsmith: Vec<(String, String)> = w
        .sandbox
        .env()
        .into_iter()
        .filter(|(key, _)| key.starts_with("CLOUDSMITH_"))
        .collect();
    let expected = [
        ("CLOUDSMITH_API_KEY", w.key()),
        ("CLOUDSMITH_API_URL", w.api("").to_string()),
        ("CLOUDSMITH_OWNER", OWNER.to_owned()),
        ("CLOUDSMITH_USER", USER.to_owned()),
        ("CLOUDSMITH_DOCKER_URL", w.registry("").to_string()),
    ]
    .map(|(key, value)| (key.to_owned(), value));
    assert_eq!(cloudsmith, expected);
    assert_eq!(
        w.sandbox.context().resolve("api.cloudsmith.io").as_ref(),
        w.sandbox.url("cloudsmith")
    );
    assert_eq!(
        w.sandbox.context().resolve("docker.cloudsmith.io").as_ref(),
        w.sandbox.url("cloudsmith-docker")
    );

    w.create_repo("cgr").await;
    w.sandbox.reset();
    assert!(w.cloudsmith.repository_slugs().is_empty());
    // The key survives a reset, as the env file written before it still names it.
    assert_eq!(w.get("user/self/").await.body["authenticated"], true);
}
