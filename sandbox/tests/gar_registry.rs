//! The Docker registry of `LOCATION-docker.pkg.dev`, pulled with plain reqwest as a
//! Docker client does (gar_common::registry): public and private images through remote
//! and virtual repositories, the service agent's grant, packages and forgetting them.

mod gar_common;

use gar_common::registry::{INDEX, MANIFEST, pull};
use gar_common::{Google, NUMBER, ORG, PROJECT, credentials, remote_body};
use pull_through_sandbox::upstream::Upstream;
use reqwest::Method;
use serde_json::{Value, json};

fn sha256(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!(
        "sha256:{}",
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// The digest cgr.dev's fake answers for `image:latest` (its index).
async fn upstream_digest(google: &Google, image: &str) -> String {
    let upstream = Upstream::new(google.sandbox.context().clone());
    let token = google.cgr_token().await;
    let credentials = pull_through_sandbox::upstream::Credentials::new("_token", token);
    let accept = pull_through_sandbox::axum::http::HeaderValue::from_static(INDEX);
    let fetched = upstream
        .docker("https://cgr.dev/", &format!("{image}/manifests/latest"))
        .credentials(Some(&credentials))
        .accept(Some(&accept))
        .send()
        .await
        .unwrap();
    fetched.digest.unwrap()
}

fn repository(id: &str) -> String {
    Google::repository_path(id)
}

#[tokio::test]
async fn a_public_image_comes_through_a_remote_and_is_kept_as_a_package() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let index = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(index.status, 200);
    assert_eq!(index.headers["content-type"], INDEX);
    assert_eq!(
        index.digest(),
        upstream_digest(&google, "chainguard/go").await
    );
    assert_eq!(sha256(&index.body), index.digest());

    let amd64 = index.json()["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let manifest = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/{amd64}"),
        MANIFEST,
    )
    .await;
    assert_eq!(manifest.status, 200);
    assert_eq!(manifest.digest(), amd64);
    let config = manifest.json()["config"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/blobs/{config}"),
        "*/*",
    )
    .await;
    assert_eq!(blob.status, 200);
    assert_eq!(sha256(&blob.body), config);
    let head = pull(
        &google,
        Method::HEAD,
        &format!("{PROJECT}/cg/chainguard/go/blobs/{config}"),
        "*/*",
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers["content-length"],
        blob.body.len().to_string().as_str()
    );

    // A client that takes no index gets the linux/amd64 manifest of the tag.
    let plain = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/latest"),
        MANIFEST,
    )
    .await;
    assert_eq!(plain.digest(), amd64);
    let tags = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/tags/list"),
        "*/*",
    )
    .await;
    assert_eq!(
        tags.json(),
        json!({"name": format!("{PROJECT}/cg/chainguard/go"), "tags": ["latest", "latest-dev"]})
    );

    assert_eq!(google.gar.packages(&repository("cg")), ["chainguard/go"]);
    let listed = google
        .call(
            Method::GET,
            google.ar(&format!("v1/{}/packages", repository("cg"))),
            None,
        )
        .await;
    let package = &listed.ok()["packages"][0];
    assert_eq!(
        package["name"],
        format!("{}/packages/chainguard%2Fgo", repository("cg"))
    );
    let one = google
        .call(
            Method::GET,
            google.ar(&format!("v1/{}/packages/chainguard%2Fgo", repository("cg"))),
            None,
        )
        .await;
    assert_eq!(one.ok(), package);
    let missing = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/nothing/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["code"], "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn a_private_image_needs_the_agents_grant_and_an_enabled_version() {
    let google = Google::start().await;
    let private = format!("{ORG}/chainguard-base/manifests/latest");
    google.public_remote("cg-public").await;
    let anonymous = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg-public/{private}"),
        INDEX,
    )
    .await;
    assert_eq!(anonymous.status, 403);

    let version = google.pull_secret("cgr-pull", false).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    body["remoteRepositoryConfig"]["disableUpstreamValidation"] = true.into();
    google.create_done("cg-private", body).await;
    let path = format!("{PROJECT}/cg-private/{private}");
    let denied = pull(&google, Method::GET, &path, INDEX).await;
    assert_eq!(denied.status, 403);
    let error = &denied.json()["errors"][0];
    assert_eq!(error["code"], "DENIED");
    assert!(
        error["message"].as_str().unwrap().starts_with(&format!(
            "Permission \"secretmanager.versions.access\" denied on resource \"projects/{NUMBER}/secrets/cgr-pull/versions/1\""
        )),
        "{error}"
    );
    assert!(google.gar.packages(&repository("cg-private")).is_empty());

    google.grant("cgr-pull").await;
    let pulled = pull(&google, Method::GET, &path, INDEX).await;
    assert_eq!(
        pulled.status,
        200,
        "{}",
        String::from_utf8_lossy(&pulled.body)
    );
    assert_eq!(
        pulled.digest(),
        upstream_digest(&google, &format!("{ORG}/chainguard-base")).await
    );
    assert_eq!(
        google.gar.packages(&repository("cg-private")),
        [format!("{ORG}/chainguard-base")]
    );

    google
        .call(
            Method::POST,
            google.sm(&format!(
                "v1/projects/{PROJECT}/secrets/cgr-pull/versions/1:disable"
            )),
            Some(json!({})),
        )
        .await
        .ok();
    let disabled = pull(&google, Method::GET, &path, INDEX).await;
    assert_eq!(disabled.status, 403);
    assert_eq!(
        disabled.json()["errors"][0]["message"],
        format!(
            "Secret version \"projects/{NUMBER}/secrets/cgr-pull/versions/1\" is in DISABLED state."
        )
    );
}

#[tokio::test]
async fn a_virtual_tries_its_members_by_priority_larger_first() {
    let google = Google::start().await;
    google.public_remote("cg-public").await;
    let version = google.pull_secret("cgr-pull", true).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    google.create_done("cg-private", body).await;
    let virtual_of = |members: &[(&str, i32)]| {
        let policies: Vec<Value> = members
            .iter()
            .map(|(id, priority)| json!({"id": id, "repository": repository(id), "priority": priority}))
            .collect();
        json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY", "virtualRepositoryConfig": {"upstreamPolicies": policies}})
    };
    google
        .create_done(
            "private-first",
            virtual_of(&[("cg-public", 1), ("cg-private", 2)]),
        )
        .await;
    google
        .create_done(
            "public-first",
            virtual_of(&[("cg-public", 5), ("cg-private", 1)]),
        )
        .await;

    let go = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/private-first/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(go.status, 200);
    assert_eq!(
        google.gar.packages(&repository("cg-private")),
        ["chainguard/go"]
    );
    assert!(google.gar.packages(&repository("cg-public")).is_empty());

    let nginx = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/public-first/chainguard/nginx/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(nginx.status, 200);
    assert_eq!(
        google.gar.packages(&repository("cg-public")),
        ["chainguard/nginx"]
    );

    // The public member cannot pull the private image; the next member can.
    let base = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/public-first/{ORG}/chainguard-base/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(base.status, 200);
    assert!(
        google.gar.packages(&repository("private-first")).is_empty(),
        "a virtual keeps nothing itself"
    );

    let tags = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/public-first/chainguard/go/tags/list"),
        "*/*",
    )
    .await;
    assert_eq!(tags.json()["tags"], json!(["latest", "latest-dev"]));
}

#[tokio::test]
async fn a_package_is_forgotten_by_delete_and_fetched_again() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let path = format!("{PROJECT}/cg/chainguard/go/manifests/latest");
    let index = pull(&google, Method::GET, &path, INDEX).await;
    let amd64 = index.json()["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_digest = format!("{PROJECT}/cg/chainguard/go/manifests/{amd64}");
    pull(&google, Method::GET, &by_digest, MANIFEST).await;
    let upstream_calls = || google.sandbox.journal().entries_for("cgr.dev").len();
    let before = upstream_calls();
    pull(&google, Method::GET, &by_digest, MANIFEST).await;
    assert_eq!(
        upstream_calls(),
        before,
        "a digest is served from the cache"
    );

    let package = google.ar(&format!("v1/{}/packages/chainguard%2Fgo", repository("cg")));
    let deleted = google.call(Method::DELETE, package.clone(), None).await;
    let (done, _) = google.wait(deleted.ok()).await;
    assert_eq!(
        done["response"],
        json!({"@type": "type.googleapis.com/google.protobuf.Empty"})
    );
    assert!(google.gar.packages(&repository("cg")).is_empty());
    google
        .call(Method::DELETE, package, None)
        .await
        .refused(404, "NOT_FOUND");
    let unencoded = google.ar(&format!("v1/{}/packages/chainguard/go", repository("cg")));
    google
        .call(Method::DELETE, unencoded, None)
        .await
        .refused(404, "NOT_FOUND");

    let before = upstream_calls();
    let again = pull(&google, Method::GET, &by_digest, MANIFEST).await;
    assert_eq!(again.status, 200);
    assert!(
        upstream_calls() > before,
        "forgotten content is fetched again"
    );
    assert_eq!(google.gar.packages(&repository("cg")), ["chainguard/go"]);
}
