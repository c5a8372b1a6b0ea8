//! Every error answer Cloudsmith gives, as the core's errors: the `{"detail", "fields",
//! "code"}` envelope of 400 and 422 (fields as arrays and as objects) naming the field,
//! 401, 403, 404, and bodies in no envelope at all. No secret in any of them.

mod common;

use cloudsmith_client::{DockerUpstreamRequest, RepositoryCreate};
use common::*;
use pull_through_core::{Error, ErrorKind};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answered(body: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(body)
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    client
        .create_repository(&RepositoryCreate::private("chainguard"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_422_names_each_field_whether_arrays_or_objects() {
    let err = answered(
        ResponseTemplate::new(422).set_body_json(json!({
            "detail": "Invalid input.", "code": "invalid",
            "fields": {"storage_region": ["\"mars\" is not a valid choice."],
                       "name": ["Ensure this field has no more than 50 characters.", "Enter a valid name."]}
        })),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Api);
    let api = err.api().unwrap();
    assert_eq!(api.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.code.as_deref(), Some("invalid"));
    assert_eq!(
        api.message,
        "Invalid input. (name: Ensure this field has no more than 50 characters. Enter a valid \
         name.; storage_region: \"mars\" is not a valid choice.)"
    );

    // The shape real answers have been seen with: an object, not a list.
    let err = answered(ResponseTemplate::new(422).set_body_json(json!({
        "detail": "Invalid input.",
        "fields": {"privileges": {"detail": "Invalid team(s): 'ops'"}}
    })))
    .await;
    assert_eq!(
        err.api().unwrap().message,
        "Invalid input. (privileges: Invalid team(s): 'ops')"
    );
}

#[tokio::test]
async fn a_taken_slug_is_already_exists() {
    let err = answered(ResponseTemplate::new(422).set_body_json(json!({
        "detail": "Invalid input.", "code": "invalid",
        "fields": {"slug": ["A repository with this slug already exists."]}
    })))
    .await;
    assert!(err.is_already_exists(), "{err:?}");
    assert!(
        err.to_string()
            .contains("slug: A repository with this slug already exists.")
    );
}

#[tokio::test]
async fn a_400_a_401_a_403_and_raw_text() {
    let err = answered(ResponseTemplate::new(400).set_body_json(json!({
        "detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"
    })))
    .await;
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(
        err.api().unwrap().message,
        "JSON parse error - Expecting value: line 1 column 1 (char 0)"
    );

    let err =
        answered(ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token."})))
            .await;
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.api().unwrap().message, "Invalid token.");

    let err = answered(
        ResponseTemplate::new(403)
            .set_body_json(json!({"detail": "You do not have permission to perform this action."})),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);

    let err = answered(
        ResponseTemplate::new(404).set_body_json(json!({"detail": "Owner namespace not found"})),
    )
    .await;
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message, "Owner namespace not found");

    let err = answered(
        ResponseTemplate::new(413)
            .set_body_string("<html><body>Request Entity Too Large</body></html>"),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(
        err.api().unwrap().message,
        "<html><body>Request Entity Too Large</body></html>"
    );
}

#[tokio::test]
async fn a_refused_key_is_named_by_its_variable_never_shown() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("GET"))
        .and(path("/user/self/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token."})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client.check_key().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let text = err.to_string();
    assert!(
        text.ends_with(
            "Invalid token.; the API key in CLOUDSMITH_API_KEY was refused; set it to a valid \
             Cloudsmith API key (user settings > API Key, or a service account's key)"
        ),
        "{text}"
    );
    assert!(!text.contains(KEY) && !format!("{err:?}").contains(KEY));

    // A 200 for an anonymous caller is not a working key.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("GET"))
        .and(path("/user/self/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "authenticated": false, "slug": null, "slug_perm": null, "name": null, "email": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server);
    let err = client.check_key().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("authenticated: false"), "{err}");
    assert!(err.to_string().contains("CLOUDSMITH_API_KEY"), "{err}");
}

#[tokio::test]
async fn a_secret_echoed_by_the_server_is_scrubbed() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "detail": format!("Invalid input with key {KEY}"), "code": "invalid",
            "fields": {"auth_secret": [format!("'{PULL_TOKEN}' is not accepted.")],
                       "auth_username": [format!("{IDENTITY} is unknown")]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .create_upstream(
            "chainguard",
            &DockerUpstreamRequest::private("cgr-private", &pull_token()),
        )
        .await
        .unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(PULL_TOKEN), "{shown}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(
            shown.contains("auth_secret"),
            "the field is still named: {shown}"
        );
    }
}

#[tokio::test]
async fn diagnose_of_a_cache_that_is_not_there_is_not_found() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    for at in ["/repos/acme/cgr-public/", "/repos/acme/chainguard/"] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
            .mount(&server)
            .await;
    }
    let (client, _) = client(&server);
    let cache = pull_through_core::CacheName::new("cgr-public").unwrap();
    for layout in [
        cloudsmith_client::Layout::OwnRepository,
        cloudsmith_client::Layout::shared("chainguard").unwrap(),
    ] {
        let backend = cloudsmith_client::CloudsmithBackend::new(client.clone()).with_layout(layout);
        for name in [
            cache.clone(),
            pull_through_core::CacheName::new("chainguard").unwrap(),
        ] {
            let err = pull_through_core::PullThroughBackend::diagnose(&backend, &name)
                .await
                .unwrap_err();
            // Requests were sent: not bad input, the vendor's absence.
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
            assert!(
                err.to_string().contains(&format!(
                    "there is no cache {name} on this Cloudsmith backend"
                )),
                "{err}"
            );
        }
    }
}
