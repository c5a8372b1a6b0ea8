//! The Artifactory fake takes what a real Artifactory takes: documented fields it does not
//! model are accepted and ignored when lenient (`sandbox serve`) and refused when strict
//! (our own tests), fields it models are checked in both modes, fields Artifactory does not
//! document are refused in both, and new keys follow JFrog's naming rules.

use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::{Artifactory, FieldChecks};
use serde_json::{Value, json};

struct Fake {
    _sandbox: Sandbox,
    artifactory: Artifactory,
    base: url::Url,
    token: String,
}

async fn start(checks: FieldChecks) -> Fake {
    let artifactory = Artifactory::new().field_checks(checks);
    let sandbox = Sandbox::builder()
        .artifactory(&artifactory)
        .start()
        .await
        .expect("the sandbox starts");
    let base = sandbox.url("artifactory").unwrap().clone();
    let token = artifactory.admin_token().expose().to_owned();
    Fake {
        _sandbox: sandbox,
        artifactory,
        base,
        token,
    }
}

impl Fake {
    async fn send(&self, method: reqwest::Method, key: &str, body: &Value) -> (u16, String) {
        let url = self
            .base
            .join(&format!("artifactory/api/repositories/{key}"))
            .unwrap();
        let answer = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap())
    }

    async fn create(&self, key: &str, body: &Value) -> (u16, String) {
        self.send(reqwest::Method::PUT, key, body).await
    }

    async fn update(&self, key: &str, body: &Value) -> (u16, String) {
        self.send(reqwest::Method::POST, key, body).await
    }

    async fn get(&self, key: &str) -> Value {
        let url = self
            .base
            .join(&format!("artifactory/api/repositories/{key}"))
            .unwrap();
        reqwest::Client::new()
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// What pyartifactory 2.11.2 sends for `RemoteRepository(key, url, packageType=docker)`:
/// the full model dump, nulls and fields unrelated to Docker included.
fn pyartifactory_remote(key: &str) -> Value {
    let dump = r#"{
        "key": "KEY", "projectKey": null, "rclass": "remote", "packageType": "docker",
        "description": null, "notes": null, "includesPattern": "**/*", "excludesPattern": "",
        "repoLayoutRef": "maven-2-default", "url": "https://cgr.dev/", "username": null,
        "password": null, "proxy": null, "remoteRepoChecksumPolicyType": "generate-if-absent",
        "handleReleases": true, "handleSnapshots": true, "maxUniqueSnapshots": 0,
        "suppressPomConsistencyChecks": false, "hardFail": false, "offline": false,
        "blackedOut": false, "storeArtifactsLocally": true, "socketTimeoutMillis": 15000,
        "localAddress": null, "retrievalCachePeriodSecs": 43200,
        "failedRetrievalCachePeriodSecs": 30, "missedRetrievalCachePeriodSecs": 7200,
        "metadataRetrievalTimeoutSecs": 60, "unusedArtifactsCleanupEnabled": false,
        "unusedArtifactsCleanupPeriodHours": 0, "assumedOfflinePeriodSecs": 300,
        "fetchJarsEagerly": false, "fetchSourcesEagerly": false, "shareConfiguration": false,
        "synchronizeProperties": false, "blockMismatchingMimeTypes": true, "propertySets": null,
        "allowAnyHostAuth": false, "enableCookieManagement": false,
        "enableTokenAuthentication": false, "bowerRegistryUrl": "https://registry.bower.io",
        "gitRegistryUrl": "https://github.com/rust-lang/crates.io-index",
        "composerRegistryUrl": "https://packagist.org", "pyPIRegistryUrl": "https://pypi.org",
        "vcsType": "GIT", "vcsGitProvider": "GITHUB", "vcsGitDownloadUrl": "",
        "bypassHeadRequests": false, "clientTlsCertificate": "",
        "externalDependenciesEnabled": false,
        "externalDependenciesPatterns": ["**/*microsoft*/**", "**/*github*/**"],
        "downloadRedirect": false, "cdnRedirect": false,
        "contentSynchronisation": {"enabled": false, "statistics": {"enabled": false},
            "properties": {"enabled": false}, "source": {"originAbsenceDetection": false}},
        "feedContextPath": "api/v2", "downloadContextPath": "api/v2/package",
        "v3FeedUrl": "https://api.nuget.org/v3/index.json", "blockPushingSchema1": false,
        "priorityResolution": false, "disableUrlNormalization": false, "xrayIndex": false,
        "cargoInternalIndex": false
    }"#;
    serde_json::from_str(&dump.replace("KEY", key)).unwrap()
}

#[tokio::test]
async fn the_default_is_strict() {
    assert_eq!(
        Artifactory::new().current_field_checks(),
        FieldChecks::Strict
    );
    assert_eq!(FieldChecks::default(), FieldChecks::Strict);
}

#[tokio::test]
async fn lenient_takes_pyartifactorys_full_dump_and_keeps_what_it_models() {
    let fake = start(FieldChecks::Lenient).await;
    let (status, text) = fake
        .create("cgr-remote", &pyartifactory_remote("cgr-remote"))
        .await;
    assert_eq!(status, 200, "{text}");
    let shown = fake.get("cgr-remote").await;
    assert_eq!(shown["url"], "https://cgr.dev/");
    assert_eq!(shown["packageType"], "docker");
    assert_eq!(shown["blockMismatchingMimeTypes"], true);
    assert_eq!(shown["enableTokenAuthentication"], false);
    // Ignored, as the fake does not model them; nulls read as "not given".
    assert!(shown.get("allowAnyHostAuth").is_none());
    assert!(shown.get("vcsGitProvider").is_none());
    assert_eq!(shown["description"], " (local file cache)");
    assert_eq!(fake.artifactory.repository_keys(), ["cgr-remote"]);
    // An update with an unmodelled field, as pyartifactory's update sends what was set.
    let (status, text) = fake
        .update(
            "cgr-remote",
            &json!({"bypassHeadRequests": true, "offline": true}),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(fake.get("cgr-remote").await["offline"], true);
    // A virtual with pyartifactory's nulls and virtual-only fields.
    let (status, text) = fake
        .create(
            "cgr-virt",
            &json!({"key": "cgr-virt", "rclass": "virtual", "packageType": "docker",
                "repositories": ["cgr-remote"], "defaultDeploymentRepo": null,
                "artifactoryRequestsCanRetrieveRemoteArtifacts": false, "keyPair": null,
                "pomRepositoryReferencesCleanupPolicy": "discard_active_reference",
                "url": "documented for remotes, ignored on a virtual"}),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        fake.get("cgr-virt").await["repositories"],
        json!(["cgr-remote"])
    );
}

#[tokio::test]
async fn strict_refuses_documented_fields_it_does_not_model() {
    let fake = start(FieldChecks::Strict).await;
    let (status, text) = fake
        .create("cgr-remote", &pyartifactory_remote("cgr-remote"))
        .await;
    assert_eq!(status, 400);
    assert!(text.contains("Unrecognized field"), "{text}");
    assert!(fake.artifactory.repository_keys().is_empty());
    let (status, text) = fake
        .create(
            "cgr-remote",
            &json!({"rclass": "remote", "packageType": "docker", "url": "https://cgr.dev/",
                "allowAnyHostAuth": false}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(text.contains("allowAnyHostAuth"), "{text}");
}

#[tokio::test]
async fn modelled_fields_are_checked_in_both_modes() {
    for checks in [FieldChecks::Lenient, FieldChecks::Strict] {
        let fake = start(checks).await;
        let remote = |extra: Value| {
            let mut body = json!({"rclass": "remote", "packageType": "docker",
                "url": "https://cgr.dev/"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };
        for (extra, expected) in [
            (
                json!({"packageType": "dokker"}),
                "Unsupported package type 'dokker'",
            ),
            (
                json!({"rclass": "remotely"}),
                "Unsupported rclass 'remotely'",
            ),
            (
                json!({"offline": "yes"}),
                "Invalid value for field \\\"offline\\\"",
            ),
            (
                json!({"blockMismatchingMimeTypes": 1}),
                "blockMismatchingMimeTypes",
            ),
            (
                json!({"description": 5}),
                "Invalid value for field \\\"description\\\"",
            ),
            (json!({"url": "ftp://cgr.dev/"}), "Invalid URL"),
            (json!({"packageType": null}), "packageType"),
            // Not documented by Artifactory: refused whatever the mode.
            (
                json!({"allowAnyHostAuthentication": true}),
                "Unrecognized field",
            ),
            (json!({"enableTokenAuth": true}), "Unrecognized field"),
        ] {
            let (status, text) = fake.create("cgr-remote", &remote(extra.clone())).await;
            assert_eq!(status, 400, "{checks:?} {extra}: {text}");
            assert!(text.contains(expected), "{checks:?} {extra}: {text}");
            let error: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(error["errors"][0]["status"], 400);
        }
        let (status, text) = fake.create("cgr-remote", &remote(json!({}))).await;
        assert_eq!(status, 200, "{checks:?}: {text}");
        let (status, text) = fake
            .update("cgr-remote", &json!({"enableTokenAuthentication": "true"}))
            .await;
        assert_eq!(status, 400, "{checks:?}: {text}");
        let (status, text) = fake.update("cgr-remote", &json!({"notAField": 1})).await;
        assert_eq!(status, 400, "{checks:?}: {text}");
        assert!(text.contains("Unrecognized field"), "{text}");
    }
}

#[tokio::test]
async fn new_keys_follow_jfrogs_naming_rules() {
    let fake = start(FieldChecks::Strict).await;
    let remote = |package_type: &str| json!({"rclass": "remote", "packageType": package_type, "url": "https://cgr.dev/"});
    let virtual_generic = json!({"rclass": "virtual", "packageType": "generic"});
    let long_58 = "k".repeat(58);
    let long_59 = "k".repeat(59);
    for (key, body, expected) in [
        (long_59.as_str(), remote("alpine"), "at most 58 characters"),
        ("Cgr-Public", remote("docker"), "upper-case"),
        ("cgr_public", remote("docker"), "upper-case letters or '_'"),
        (
            "cg-private-cache",
            remote("alpine"),
            "cannot end with '-cache'",
        ),
        (
            "CG-VIRT-CACHE",
            virtual_generic.clone(),
            "cannot end with '-cache'",
        ),
        (
            "artifactory-build-info",
            virtual_generic.clone(),
            "reserved",
        ),
        ("Jfrog-logs", remote("alpine"), "reserved"),
        ("release-bundles", remote("alpine"), "reserved"),
        ("jfrog-system-reserved-x", remote("alpine"), "reserved"),
        ("Jfrog-artifactory-system", remote("alpine"), "reserved"),
    ] {
        let (status, text) = fake.create(key, &body).await;
        assert_eq!(status, 400, "{key}: {text}");
        assert!(text.contains(expected), "{key}: {text}");
    }
    assert!(fake.artifactory.repository_keys().is_empty());
    for (key, body) in [
        (long_58.as_str(), remote("alpine")),
        ("CG-Private", remote("alpine")),
        (&"v".repeat(64), virtual_generic.clone()),
        ("my-cache-1", remote("docker")),
    ] {
        let (status, text) = fake.create(key, &body).await;
        assert_eq!(status, 200, "{key}: {text}");
    }
}
