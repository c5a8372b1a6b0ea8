//! The Secret Manager fake (secrets, versions, CRC32C, disable/destroy/access), IAM
//! policies with etags, the Resource Manager fake, and what the journal keeps of it all.

mod gar_common;

use base64::Engine as _;
use gar_common::{Google, NUMBER, PROJECT};
use pull_through_sandbox::gar::{self, crc32c};
use pull_through_sandbox::journal_contains;
use reqwest::Method;
use serde_json::{Value, json};

fn b64(text: &[u8]) -> String {
    base64::prelude::BASE64_STANDARD.encode(text)
}

fn secret_url(google: &Google, rest: &str) -> url::Url {
    google.sm(&format!("v1/projects/{PROJECT}/secrets/{rest}"))
}

async fn add(google: &Google, id: &str, payload: Value) -> gar_common::Answer {
    google
        .call(
            Method::POST,
            secret_url(google, &format!("{id}:addVersion")),
            Some(payload),
        )
        .await
}

#[tokio::test]
async fn a_secret_is_named_with_the_project_number_and_created_once() {
    let google = Google::start().await;
    let created = google.create_secret("cgr-pull").await;
    let secret = created.ok();
    let mut keys: Vec<&String> = secret.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["createTime", "etag", "name", "replication"]);
    assert_eq!(
        secret["name"],
        format!("projects/{NUMBER}/secrets/cgr-pull")
    );
    assert_eq!(secret["replication"], json!({"automatic": {}}));
    assert!(secret["etag"].as_str().unwrap().starts_with('"'));
    assert_eq!(
        google
            .call(Method::GET, secret_url(&google, "cgr-pull"), None)
            .await
            .ok(),
        secret
    );
    let by_number = google
        .call(
            Method::GET,
            google.sm(&format!("v1/projects/{NUMBER}/secrets/cgr-pull")),
            None,
        )
        .await;
    assert_eq!(by_number.ok(), secret);

    let again = google.create_secret("cgr-pull").await;
    assert_eq!(
        again.refused(409, "ALREADY_EXISTS"),
        format!("Secret [projects/{NUMBER}/secrets/cgr-pull] already exists.")
    );
    assert_eq!(
        google.gar.secrets(),
        [format!("projects/{NUMBER}/secrets/cgr-pull")]
    );
}

#[tokio::test]
async fn secrets_that_cannot_be_are_refused() {
    let google = Google::start().await;
    let create = |id: &str, body: Value| {
        let mut url = google.sm(&format!("v1/projects/{PROJECT}/secrets"));
        url.query_pairs_mut().append_pair("secretId", id);
        google.call(Method::POST, url, Some(body))
    };
    let automatic = json!({"replication": {"automatic": {}}});
    assert!(
        create("a/b", automatic.clone())
            .await
            .refused(400, "INVALID_ARGUMENT")
            .contains("secret id")
    );
    assert!(
        create("", automatic.clone())
            .await
            .refused(400, "INVALID_ARGUMENT")
            .contains("secret id")
    );
    assert!(
        create("ok", json!({}))
            .await
            .refused(400, "INVALID_ARGUMENT")
            .contains("replication")
    );
    let unknown = create(
        "ok",
        json!({"replication": {"automatic": {}}, "replicaton": 1}),
    )
    .await;
    assert_eq!(
        unknown.refused(400, "INVALID_ARGUMENT"),
        "Invalid JSON payload received. Unknown name \"replicaton\" at 'secret': Cannot find field."
    );
    let both = create("ok", json!({"replication": {"automatic": {}, "userManaged": {"replicas": [{"location": "us-east1"}]}}})).await;
    assert!(
        both.refused(400, "INVALID_ARGUMENT")
            .contains("Oneof field 'replication'")
    );
    create(
        "ok",
        json!({"replication": {"userManaged": {"replicas": []}}}),
    )
    .await
    .refused(400, "INVALID_ARGUMENT");
    let elsewhere = google
        .call(
            Method::POST,
            google.sm("v1/projects/someone-elses/secrets?secretId=x"),
            Some(automatic),
        )
        .await;
    elsewhere.refused(403, "PERMISSION_DENIED");
    assert!(google.gar.secrets().is_empty());
    let missing = google
        .call_as(Method::GET, secret_url(&google, "x"), None, None)
        .await;
    missing.refused(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn versions_carry_a_checked_crc32c() {
    let google = Google::start().await;
    google.create_secret("s").await.ok();
    assert_eq!(crc32c(b"123456789"), 3_808_858_755);

    let as_string = add(
        &google,
        "s",
        json!({"payload": {"data": b64(b"123456789"), "dataCrc32c": "3808858755"}}),
    )
    .await;
    let version = as_string.ok();
    assert_eq!(
        version["name"],
        format!("projects/{NUMBER}/secrets/s/versions/1")
    );
    assert_eq!(version["state"], "ENABLED");
    assert_eq!(version["clientSpecifiedPayloadChecksum"], true);
    assert_eq!(version["replicationStatus"], json!({"automatic": {}}));
    assert!(version["createTime"].as_str().unwrap().ends_with('Z'));

    let as_number = add(
        &google,
        "s",
        json!({"payload": {"data": b64(b"123456789"), "dataCrc32c": 3_808_858_755u64}}),
    )
    .await;
    assert_eq!(
        as_number.ok()["name"],
        format!("projects/{NUMBER}/secrets/s/versions/2")
    );
    let without = add(&google, "s", json!({"payload": {"data": b64(b"abc")}})).await;
    assert!(without.ok().get("clientSpecifiedPayloadChecksum").is_none());

    // The checksum is of the decoded bytes, not of their base64.
    let of_base64 = crc32c(b64(b"123456789").as_bytes());
    let wrong = add(
        &google,
        "s",
        json!({"payload": {"data": b64(b"123456789"), "dataCrc32c": of_base64.to_string()}}),
    )
    .await;
    let message = wrong.refused(400, "INVALID_ARGUMENT");
    assert!(message.contains("data_crc32c"), "{message}");
    assert_eq!(
        wrong.body["error"]["details"][0]["fieldViolations"][0]["field"],
        "payload.data_crc32c"
    );

    let max = vec![b'x'; 64 * 1024];
    add(
        &google,
        "s",
        json!({"payload": {"data": b64(&max), "dataCrc32c": crc32c(&max).to_string()}}),
    )
    .await
    .ok();
    let over = vec![b'x'; 64 * 1024 + 1];
    let refused = add(&google, "s", json!({"payload": {"data": b64(&over)}})).await;
    assert!(refused.refused(400, "INVALID_ARGUMENT").contains("64KiB"));
    add(&google, "s", json!({}))
        .await
        .refused(400, "INVALID_ARGUMENT");
    add(&google, "s", json!({"payload": {"data": "not base64!"}}))
        .await
        .refused(400, "INVALID_ARGUMENT");
    add(
        &google,
        "s",
        json!({"payload": {"data": b64(b"x"), "crc": 1}}),
    )
    .await
    .refused(400, "INVALID_ARGUMENT");
    add(&google, "absent", json!({"payload": {"data": b64(b"x")}}))
        .await
        .refused(404, "NOT_FOUND");
    let versions: Vec<u64> = google
        .gar
        .secret_versions("s")
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(versions, [1, 2, 3, 4]);

    let access = google
        .call(
            Method::GET,
            secret_url(&google, "s/versions/1:access"),
            None,
        )
        .await;
    assert_eq!(
        access.ok(),
        &json!({"name": format!("projects/{NUMBER}/secrets/s/versions/1"),
                "payload": {"data": b64(b"123456789"), "dataCrc32c": "3808858755"}})
    );
    let latest = google
        .call(
            Method::GET,
            secret_url(&google, "s/versions/latest:access"),
            None,
        )
        .await;
    assert_eq!(
        latest.ok()["name"],
        format!("projects/{NUMBER}/secrets/s/versions/4")
    );
}

#[tokio::test]
async fn versions_are_disabled_enabled_destroyed_and_listed_newest_first() {
    let google = Google::start().await;
    google.create_secret("s").await.ok();
    for payload in ["one", "two", "three"] {
        google.add_version("s", payload).await.ok();
    }
    let post = |rest: &str| google.call(Method::POST, secret_url(&google, rest), Some(json!({})));
    let disabled = post("s/versions/1:disable").await;
    assert_eq!(disabled.ok()["state"], "DISABLED");
    let access = google
        .call(
            Method::GET,
            secret_url(&google, "s/versions/1:access"),
            None,
        )
        .await;
    assert_eq!(
        access.refused(400, "FAILED_PRECONDITION"),
        format!("Secret Version [projects/{NUMBER}/secrets/s/versions/1] is in DISABLED state.")
    );
    assert_eq!(post("s/versions/1:enable").await.ok()["state"], "ENABLED");
    let destroyed = post("s/versions/2:destroy").await;
    assert_eq!(destroyed.ok()["state"], "DESTROYED");
    assert!(destroyed.ok()["destroyTime"].is_string());
    assert!(google.gar.secret_payload("s", 2).is_none());
    assert_eq!(google.gar.secret_payload("s", 3).unwrap().expose(), "three");
    post("s/versions/2:enable")
        .await
        .refused(400, "FAILED_PRECONDITION");
    post("s/versions/9:disable").await.refused(404, "NOT_FOUND");
    post("s/versions/latest:disable")
        .await
        .refused(400, "INVALID_ARGUMENT");
    let stale = google
        .call(
            Method::POST,
            secret_url(&google, "s/versions/3:disable"),
            Some(json!({"etag": "\"stale\""})),
        )
        .await;
    stale.refused(409, "ABORTED");
    assert_eq!(
        google
            .gar
            .secret_versions(&format!("projects/{PROJECT}/secrets/s")),
        [
            (1, "ENABLED".to_owned()),
            (2, "DESTROYED".to_owned()),
            (3, "ENABLED".to_owned())
        ]
    );

    let list = |query: &str| {
        google.call(
            Method::GET,
            secret_url(&google, &format!("s/versions?{query}")),
            None,
        )
    };
    let names = |page: &Value| -> Vec<String> {
        page["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                v["name"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let all = list("").await;
    assert_eq!(names(all.ok()), ["3", "2", "1"]);
    assert_eq!(all.ok()["totalSize"], 3);
    let first = list("pageSize=2").await;
    assert_eq!(names(first.ok()), ["3", "2"]);
    let token = first.ok()["nextPageToken"].as_str().unwrap().to_owned();
    let second = list(&format!("pageSize=2&pageToken={token}")).await;
    assert_eq!(names(second.ok()), ["1"]);
    assert!(second.ok().get("nextPageToken").is_none());
    assert_eq!(names(list("filter=state:ENABLED").await.ok()), ["3", "1"]);

    let get = google
        .call(Method::GET, secret_url(&google, "s/versions/latest"), None)
        .await;
    assert_eq!(
        get.ok()["name"],
        format!("projects/{NUMBER}/secrets/s/versions/3")
    );
    assert_eq!(
        google
            .call(Method::GET, secret_url(&google, "s/versions/7"), None)
            .await
            .refused(404, "NOT_FOUND"),
        format!("Secret Version [projects/{NUMBER}/secrets/s/versions/7] not found.")
    );

    assert_eq!(
        google
            .call(Method::DELETE, secret_url(&google, "s"), None)
            .await
            .ok(),
        &json!({})
    );
    assert_eq!(
        google
            .call(Method::GET, secret_url(&google, "s"), None)
            .await
            .refused(404, "NOT_FOUND"),
        format!("Secret [projects/{NUMBER}/secrets/s] not found.")
    );
}

#[tokio::test]
async fn iam_policies_are_read_modified_and_written_with_an_etag() {
    let google = Google::start().await;
    google.create_secret("s").await.ok();
    let get = || google.call(Method::GET, secret_url(&google, "s:getIamPolicy"), None);
    let set = |body: Value| {
        google.call(
            Method::POST,
            secret_url(&google, "s:setIamPolicy"),
            Some(body),
        )
    };
    assert_eq!(get().await.ok(), &json!({"etag": "ACAB"}));

    let agent = google.gar.service_agent();
    let binding = json!({"role": gar::SECRET_ACCESSOR, "members": [agent, agent]});
    let written =
        set(json!({"policy": {"version": 1, "bindings": [binding], "etag": "ACAB"}})).await;
    let policy = written.ok().clone();
    assert_eq!(policy["version"], 1);
    assert_eq!(
        policy["bindings"],
        json!([{"role": gar::SECRET_ACCESSOR, "members": [agent]}])
    );
    let etag = policy["etag"].as_str().unwrap();
    assert!(etag.starts_with("Bw"), "{etag}");
    assert_eq!(get().await.ok(), &policy);
    assert_eq!(
        google.gar.iam_members("s", gar::SECRET_ACCESSOR),
        std::slice::from_ref(&agent)
    );

    // The etag of the empty policy is stale now.
    let stale = set(json!({"policy": {"bindings": [], "etag": "ACAB"}})).await;
    assert_eq!(
        stale.refused(409, "ABORTED"),
        "There were concurrent policy changes. Please retry the whole read-modify-write with \
         exponential backoff. The request's ETag does not match the policy's."
    );
    assert_eq!(get().await.ok(), &policy, "a refused set changes nothing");

    // The current etag, in URL-safe base64 too, is accepted; the empty set keeps the version.
    let url_safe = etag
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_owned();
    let emptied = set(json!({"policy": {"etag": url_safe}})).await;
    assert!(emptied.ok().get("bindings").is_none());
    assert_eq!(emptied.ok()["version"], 1);
    assert_ne!(emptied.ok()["etag"], policy["etag"]);

    let refused = [
        (
            json!({"policy": {"bindings": [{"role": "roles/storage.admin", "members": [agent]}]}}),
            "Role roles/storage.admin is not supported for this resource.",
        ),
        (
            json!({"policy": {"bindings": [{"role": gar::SECRET_ACCESSOR, "members": ["someone"]}]}}),
            "Invalid member \"someone\"",
        ),
        (
            json!({"policy": {"bindings": [{"role": gar::SECRET_ACCESSOR, "members": ["serviceAccount:service-999@gcp-sa-artifactregistry.iam.gserviceaccount.com"]}]}}),
            "Service account service-999@gcp-sa-artifactregistry.iam.gserviceaccount.com does not exist.",
        ),
        (
            json!({"policy": {"bindings": [{"role": gar::SECRET_ACCESSOR, "members": [agent], "condition": {"expression": "true"}}]}}),
            "A binding with a condition needs policy version 3.",
        ),
        (
            json!({"policy": {"bindingz": []}}),
            "Unknown name \"bindingz\" at 'policy'",
        ),
        (json!({}), "Field [policy] is required."),
    ];
    for (body, expected) in refused {
        let message = set(body.clone()).await.refused(400, "INVALID_ARGUMENT");
        assert!(message.contains(expected), "{body}: {message}");
    }
    google
        .call(
            Method::GET,
            secret_url(&google, "absent:getIamPolicy"),
            None,
        )
        .await
        .refused(404, "NOT_FOUND");
}

#[tokio::test]
async fn resource_manager_knows_the_sandbox_project_by_id_and_number() {
    let google = Google::start_with(gar::Gar::new().with_project("other-project", "42")).await;
    let crm = |path: &str| google.call(Method::GET, google.url(gar::RESOURCE_MANAGER, path), None);
    let v1 = crm(&format!("v1/projects/{PROJECT}")).await;
    assert_eq!(
        v1.ok(),
        &json!({"projectNumber": NUMBER, "projectId": PROJECT, "lifecycleState": "ACTIVE",
                "name": "pull-through sandbox", "createTime": "2026-01-01T00:00:00.000Z"})
    );
    assert_eq!(
        crm(&format!("v1/projects/{NUMBER}")).await.ok()["projectId"],
        PROJECT
    );
    assert_eq!(
        crm("v1/projects/other-project").await.ok()["projectNumber"],
        "42"
    );
    let v3 = crm(&format!("v3/projects/{PROJECT}")).await;
    assert_eq!(v3.ok()["name"], format!("projects/{NUMBER}"));
    assert_eq!(v3.ok()["state"], "ACTIVE");
    let unknown = crm("v1/projects/nobody-knows").await;
    assert_eq!(
        unknown.refused(403, "PERMISSION_DENIED"),
        "The caller does not have permission"
    );
    google
        .call_as(
            Method::GET,
            google.url(gar::RESOURCE_MANAGER, "v1/projects/x"),
            None,
            None,
        )
        .await
        .refused(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_journal_keeps_no_payload_and_no_token() {
    let google = Google::start().await;
    google.create_secret("s").await.ok();
    let payload = "eyJhbGciOiJFUzI1NiJ9.secret-pull-token.c2lnbmF0dXJl";
    google.add_version("s", payload).await.ok();
    let journal = google.sandbox.journal();
    let add = journal
        .entries_for(gar::SECRET_MANAGER)
        .into_iter()
        .find(|entry| entry.path.ends_with(":addVersion"))
        .unwrap();
    assert_eq!(add.json().unwrap()["payload"]["data"], "[REDACTED]");
    assert_eq!(
        add.json().unwrap()["payload"]["dataCrc32c"],
        crc32c(payload.as_bytes()).to_string()
    );
    assert_eq!(add.header("authorization"), Some("Bearer [REDACTED]"));
    assert!(!journal_contains(&journal, payload));
    assert!(!journal_contains(&journal, &b64(payload.as_bytes())));
    assert!(!journal_contains(&journal, &google.token()));
    // Debug output of the fakes shows neither.
    let debug = format!("{:?}", google.gar);
    assert!(
        !debug.contains(payload) && !debug.contains(&google.token()),
        "{debug}"
    );
}
