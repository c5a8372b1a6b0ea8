//! The Cloudsmith fake's Docker upstreams: the `DockerUpstream` answer with its
//! defaults and `auth_secret` always `null`, every refusal with its envelope,
//! pagination, and a journal that holds neither the key nor a stored secret.

mod cloudsmith_support;

use cloudsmith_support::world;
use pull_through_sandbox::cloudsmith::OWNER;
use pull_through_sandbox::journal_contains;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SECRET: &str = "pull-token-secret-value";

fn path(repo: &str) -> String {
    format!("repos/{OWNER}/{repo}/upstream/docker/")
}

#[tokio::test]
async fn an_upstream_is_created_read_listed_updated_and_deleted() {
    let w = world().await;
    w.create_repo("cgr").await;
    let created = w
        .call(
            Method::POST,
            &path("cgr"),
            Some(
                json!({"name": "cgr-private", "upstream_url": "https://cgr.dev",
                "mode": "Cache and Proxy", "priority": 2, "verify_ssl": true,
                "auth_mode": "Username and Password", "auth_username": "identity/abc",
                "auth_secret": SECRET, "distro_version": "ignored"}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let upstream = created.body;
    let slug_perm = upstream["slug_perm"].as_str().unwrap().to_owned();
    assert_eq!(slug_perm.len(), 12);
    assert!(upstream["created_at"].as_str().unwrap().ends_with('Z'));
    let mut shown = upstream.clone();
    for field in ["slug_perm", "created_at", "updated_at"] {
        shown.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(
        shown,
        json!({
            "name": "cgr-private",
            "upstream_url": "https://cgr.dev",
            "mode": "Cache and Proxy",
            "priority": 2,
            "verify_ssl": true,
            "is_active": true,
            "auth_mode": "Username and Password",
            "auth_username": "identity/abc",
            "auth_secret": null,
            "extra_header_1": null,
            "extra_header_2": null,
            "extra_value_1": null,
            "extra_value_2": null,
            "available": true,
            "pending_validation": false,
            "has_failed_signature_verification": false,
            "disable_reason": "N/A",
            "disable_reason_text": "",
        })
    );
    assert_eq!(
        w.cloudsmith
            .stored_auth_secret("cgr", "cgr-private")
            .unwrap()
            .expose(),
        SECRET
    );

    let one = format!("{}{slug_perm}/", path("cgr"));
    assert_eq!(w.get(&one).await.body, upstream);
    assert_eq!(w.get(&path("cgr")).await.body, json!([upstream]));
    let infos = w.cloudsmith.upstreams("cgr");
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].name, "cgr-private");
    assert!(infos[0].has_secret);
    assert!(!format!("{infos:?}").contains(SECRET));

    // Rotation: a PATCH of the secret alone.
    let rotated = w
        .call(Method::PATCH, &one, Some(json!({"auth_secret": "rotated"})))
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    assert_eq!(rotated.body["auth_secret"], Value::Null);
    assert_eq!(
        rotated.body["mode"], "Cache and Proxy",
        "PATCH keeps the rest"
    );
    assert_eq!(
        w.cloudsmith
            .stored_auth_secret("cgr", "cgr-private")
            .unwrap()
            .expose(),
        "rotated"
    );
    // PUT needs the required fields and keeps the secret it is not given.
    let put = w
        .call(Method::PUT, &one, Some(json!({"priority": 3})))
        .await;
    assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        put.body["fields"],
        json!({"name": ["This field is required."], "upstream_url": ["This field is required."]})
    );
    let put = w
        .call(
            Method::PUT,
            &one,
            Some(json!({"name": "cgr-private", "upstream_url": "https://cgr.dev", "priority": 3})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.body["priority"], 3);
    assert!(
        w.cloudsmith
            .stored_auth_secret("cgr", "cgr-private")
            .is_some()
    );

    let deleted = w.call(Method::DELETE, &one, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = w.get(&one).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body, json!({"detail": "Not found."}));
    assert_eq!(
        w.call(Method::DELETE, &one, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(w.cloudsmith.upstreams("cgr").is_empty());
}

#[tokio::test]
async fn omitted_fields_take_the_api_defaults() {
    let w = world().await;
    let repo = w.create_repo("cgr").await;
    // By the repository's slug_perm, as Terraform addresses it.
    let perm = repo["slug_perm"].as_str().unwrap();
    let first = w
        .call(
            Method::POST,
            &path(perm),
            Some(json!({"name": "first", "upstream_url": "https://cgr.dev/chainguard"})),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    for (field, value) in [
        ("mode", json!("Proxy Only")),
        ("priority", json!(1)),
        ("verify_ssl", json!(true)),
        ("is_active", json!(true)),
        ("auth_mode", json!("None")),
        ("auth_username", Value::Null),
    ] {
        assert_eq!(first.body[field], value, "{field}");
    }
    let second = w
        .create_upstream(
            "cgr",
            json!({"name": "second", "upstream_url": "https://cgr.dev", "mode": "Cache Only"}),
        )
        .await;
    assert_eq!(second["priority"], 2, "after the last");
    assert_eq!(second["mode"], "Cache Only");
    // The same URL twice is accepted (Cloudsmith's own example does it).
    w.create_upstream(
        "cgr",
        json!({"name": "third", "upstream_url": "https://cgr.dev"}),
    )
    .await;
    assert_eq!(w.cloudsmith.upstreams("cgr").len(), 3);
}

/// Every refusal of an upstream write, with its envelope.
#[tokio::test]
async fn upstream_refusals_name_the_field() {
    let w = world().await;
    w.create_repo("cgr").await;
    w.create_upstream(
        "cgr",
        json!({"name": "taken", "upstream_url": "https://cgr.dev"}),
    )
    .await;
    let ok = |extra: Value| {
        let mut body = json!({"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            json!({}),
            json!({"name": ["This field is required."], "upstream_url": ["This field is required."]}),
        ),
        (
            ok(json!({"name": "x"})),
            json!({"name": ["This value does not match the required pattern."]}),
        ),
        (
            ok(json!({"name": "-x"})),
            json!({"name": ["This value does not match the required pattern."]}),
        ),
        (
            ok(json!({"name": "a".repeat(65)})),
            json!({"name": ["Ensure this field has no more than 64 characters."]}),
        ),
        (
            ok(json!({"name": "taken"})),
            json!({"name": ["An upstream with this name already exists in this repository."]}),
        ),
        (
            ok(json!({"upstream_url": "https://cgr.dev/"})),
            json!({"upstream_url": ["The upstream URL must not end with a slash: give the root without a trailing '/'."]}),
        ),
        (
            ok(json!({"upstream_url": "cgr.dev"})),
            json!({"upstream_url": ["Enter a valid URL."]}),
        ),
        (
            ok(json!({"upstream_url": format!("https://cgr.dev/{}", "a".repeat(190))})),
            json!({"upstream_url": ["Ensure this field has no more than 200 characters."]}),
        ),
        (
            ok(json!({"mode": "Cache And Proxy"})),
            json!({"mode": ["\"Cache And Proxy\" is not a valid choice."]}),
        ),
        (
            ok(json!({"auth_mode": "Token"})),
            json!({"auth_mode": ["\"Token\" is not a valid choice."]}),
        ),
        (
            ok(json!({"priority": 0})),
            json!({"priority": ["Ensure this value is greater than or equal to 1."]}),
        ),
        (
            ok(json!({"priority": 32768})),
            json!({"priority": ["Ensure this value is less than or equal to 32767."]}),
        ),
        (
            ok(json!({"priority": "1"})),
            json!({"priority": ["A valid integer is required."]}),
        ),
        (
            ok(json!({"verify_ssl": "true", "is_active": null})),
            json!({"verify_ssl": ["Must be a valid boolean."], "is_active": ["This field may not be null."]}),
        ),
        (
            ok(json!({"auth_username": "u".repeat(65)})),
            json!({"auth_username": ["Ensure this field has no more than 64 characters."]}),
        ),
        (
            ok(json!({"extra_header_1": "Bad Header", "extra_value_1": "a\nb"})),
            json!({"extra_header_1": ["This value does not match the required pattern."],
                "extra_value_1": ["This value does not match the required pattern."]}),
        ),
    ];
    for (body, fields) in cases {
        let answer = w.call(Method::POST, &path("cgr"), Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            answer.body,
            json!({"detail": "Invalid input.", "fields": fields, "code": "invalid"}),
            "{body}"
        );
    }
    assert_eq!(
        w.cloudsmith.upstreams("cgr").len(),
        1,
        "nothing refused was stored"
    );

    let slug_perm = w.cloudsmith.upstreams("cgr")[0].slug_perm.clone();
    let one = format!("{}{slug_perm}/", path("cgr"));
    let patch = w
        .call(
            Method::PATCH,
            &one,
            Some(json!({"auth_mode": "Token", "priority": -1})),
        )
        .await;
    assert_eq!(patch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        patch.body["fields"],
        json!({"auth_mode": ["\"Token\" is not a valid choice."],
            "priority": ["Ensure this value is greater than or equal to 1."]})
    );
    // Its own name is not taken from itself.
    let same = w
        .call(Method::PATCH, &one, Some(json!({"name": "taken"})))
        .await;
    assert_eq!(same.status, StatusCode::OK);

    let bad_json = w.call_raw(Method::POST, &path("cgr"), "name=x").await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_json.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - ")
    );
    let no_repo = w
        .call(Method::POST, &path("nope"), Some(ok(json!({}))))
        .await;
    assert_eq!(no_repo.status, StatusCode::NOT_FOUND);
    assert_eq!(no_repo.body, json!({"detail": "Not found."}));
    let no_upstream = w
        .call(
            Method::PATCH,
            &format!("{}AAAAAAAAAAAA/", path("cgr")),
            Some(json!({})),
        )
        .await;
    assert_eq!(no_upstream.status, StatusCode::NOT_FOUND);
    // Only formats the API has.
    let unknown = w
        .call(
            Method::GET,
            &format!("repos/{OWNER}/cgr/upstream/apk/"),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn upstream_lists_are_paginated() {
    let w = world().await;
    w.create_repo("cgr").await;
    for name in ["u1", "u2", "u3"] {
        w.create_upstream(
            "cgr",
            json!({"name": name, "upstream_url": "https://cgr.dev"}),
        )
        .await;
    }
    let page = w.get(&format!("{}?page=2&page_size=2", path("cgr"))).await;
    assert_eq!(page.body.as_array().unwrap().len(), 1);
    assert_eq!(page.body[0]["name"], "u3");
    assert_eq!(page.header("x-pagination-count"), Some("3"));
    assert_eq!(page.header("x-pagination-page"), Some("2"));
    assert_eq!(page.header("x-pagination-pagetotal"), Some("2"));
    let base = w.api(&path("cgr"));
    assert_eq!(
        page.header("link").unwrap(),
        format!(
            "<{base}?page=1&page_size=2>; rel=\"first\", <{base}?page=1&page_size=2>; rel=\"prev\", \
             <{base}?page=2&page_size=2>; rel=\"last\""
        )
    );
}

#[tokio::test]
async fn the_journal_holds_neither_the_key_nor_a_stored_secret() {
    let w = world().await;
    w.create_repo("cgr").await;
    let upstream = w
        .create_upstream(
            "cgr",
            json!({"name": "cgr-private", "upstream_url": "https://cgr.dev",
                "auth_mode": "Username and Password", "auth_username": "user",
                "auth_secret": SECRET, "extra_header_1": "Authorization",
                "extra_value_1": "Bearer extra-header-token"}),
        )
        .await;
    let one = format!(
        "{}{}/",
        path("cgr"),
        upstream["slug_perm"].as_str().unwrap()
    );
    w.call(
        Method::PATCH,
        &one,
        Some(json!({"auth_secret": "second-secret"})),
    )
    .await;
    let journal = w.sandbox.journal();
    for secret in [SECRET, "second-secret", "extra-header-token", &w.key()] {
        assert!(
            !journal_contains(&journal, secret),
            "{secret} is in the journal"
        );
    }
    let posted = journal
        .entries_for("cloudsmith")
        .into_iter()
        .find(|entry| entry.method == "POST" && entry.path.ends_with("/upstream/docker/"))
        .unwrap();
    assert_eq!(posted.header("x-api-key"), Some("[REDACTED]"));
    let body = posted.json().unwrap();
    assert_eq!(body["auth_secret"], "[REDACTED]");
    assert_eq!(
        body["auth_username"], "user",
        "what is not secret stays readable"
    );
}

#[tokio::test]
async fn upstreams_of_other_formats_live_beside_the_docker_ones() {
    let w = world().await;
    w.create_repo("cgr").await;
    let npm = format!("repos/{OWNER}/cgr/upstream/npm/");
    let created = w
        .call(
            Method::POST,
            &npm,
            Some(
                json!({"name": "npmjs", "upstream_url": "https://registry.npmjs.org",
                "auth_secret": SECRET}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["auth_secret"], Value::Null);
    assert_eq!(created.body["mode"], "Proxy Only");
    let listed = w.get(&npm).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["name"], "npmjs");
    // Docker's list and another format's do not show it.
    assert_eq!(w.get(&path("cgr")).await.body, json!([]));
    let python = w.get(&format!("repos/{OWNER}/cgr/upstream/python/")).await;
    assert_eq!(python.body, json!([]));
    // A format the API does not have, and a repository that does not exist.
    let bogus = w.get(&format!("repos/{OWNER}/cgr/upstream/bogus/")).await;
    assert_eq!(bogus.status, StatusCode::NOT_FOUND);
    let missing = w.get(&format!("repos/{OWNER}/nope/upstream/npm/")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let refused = w.call(Method::POST, &npm, Some(json!({"name": "x"}))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let slug_perm = listed.body[0]["slug_perm"].as_str().unwrap().to_owned();
    let deleted = w
        .call(Method::DELETE, &format!("{npm}{slug_perm}/"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(w.get(&npm).await.body, json!([]));
}
