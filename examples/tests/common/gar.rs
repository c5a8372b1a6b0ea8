//! Helpers for the tests of Google Artifact Registry: Google's fakes read and changed
//! through their REST APIs (as gcloud or a person in the console would), and the
//! sandbox's journal.

use serde_json::Value;

use super::Served;

pub(crate) const PROJECT: &str = "pull-through-sandbox";
pub(crate) const LOCATION: &str = "us-central1";
pub(crate) const AGENT: &str =
    "serviceAccount:service-123456789012@gcp-sa-artifactregistry.iam.gserviceaccount.com";
pub(crate) const ACCESSOR: &str = "roles/secretmanager.secretAccessor";
pub(crate) const PRIVATE_SECRET: &str = "pull-through-chainguard-private";

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A call to one of Google's fakes: `api` is the variable holding its root URL
/// (`CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER`), `path` what follows it. Answers the
/// status and the JSON body.
pub(crate) fn call(
    served: &Served,
    method: &str,
    api: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", served.env[api]);
    let token = served.env["GOOGLE_OAUTH_ACCESS_TOKEN"].clone();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    block_on(async move {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}

const AR: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY";
const SM: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER";

/// A repository as Artifact Registry answers it, or `None` when absent.
pub(crate) fn repository(served: &Served, id: &str) -> Option<Value> {
    let path = format!("v1/projects/{PROJECT}/locations/{LOCATION}/repositories/{id}");
    match call(served, "GET", AR, &path, None) {
        (200, repository) => Some(repository),
        (404, _) => None,
        (status, body) => panic!("GET {path}: {status} {body}"),
    }
}

/// The ids of the location's repositories.
pub(crate) fn repository_ids(served: &Served) -> Vec<String> {
    let path = format!("v1/projects/{PROJECT}/locations/{LOCATION}/repositories?pageSize=1000");
    let (status, body) = call(served, "GET", AR, &path, None);
    assert_eq!(status, 200, "{body}");
    body["repositories"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            r["name"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The ids of the project's secrets.
pub(crate) fn secret_ids(served: &Served) -> Vec<String> {
    let (status, body) = call(
        served,
        "GET",
        SM,
        &format!("v1/projects/{PROJECT}/secrets"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["secrets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            s["name"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A secret's versions, oldest first, as `(number, state)`.
pub(crate) fn versions(served: &Served, secret: &str) -> Vec<(String, String)> {
    let path = format!("v1/projects/{PROJECT}/secrets/{secret}/versions");
    let (status, body) = call(served, "GET", SM, &path, None);
    assert_eq!(status, 200, "{body}");
    let mut versions: Vec<(String, String)> = body["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| {
            (
                v["name"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                v["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    versions.sort_by_key(|(number, _)| number.parse::<u64>().unwrap());
    versions
}

/// The members the secret's policy binds to `role`.
pub(crate) fn members(served: &Served, secret: &str, role: &str) -> Vec<String> {
    let path = format!("v1/projects/{PROJECT}/secrets/{secret}:getIamPolicy");
    let (status, policy) = call(served, "GET", SM, &path, None);
    assert_eq!(status, 200, "{policy}");
    policy["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|b| b["role"] == role)
        .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

/// Removes the Artifact Registry service agent from the secret's policy with
/// `setIamPolicy` and the etag `getIamPolicy` gave, as a person would with gcloud.
pub(crate) fn remove_agent(served: &Served, secret: &str) {
    let path = format!("v1/projects/{PROJECT}/secrets/{secret}:getIamPolicy");
    let (status, policy) = call(served, "GET", SM, &path, None);
    assert_eq!(status, 200, "{policy}");
    let bindings: Vec<Value> = policy["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|mut binding| {
            let members: Vec<Value> = binding["members"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| *m != AGENT)
                .cloned()
                .collect();
            binding["members"] = Value::from(members.clone());
            (!members.is_empty()).then_some(binding)
        })
        .collect();
    let body =
        serde_json::json!({"policy": {"version": 1, "bindings": bindings, "etag": policy["etag"]}});
    let path = format!("v1/projects/{PROJECT}/secrets/{secret}:setIamPolicy");
    let (status, answer) = call(served, "POST", SM, &path, Some(body));
    assert_eq!(status, 200, "{answer}");
    assert!(members(served, secret, ACCESSOR).is_empty());
}

/// Every request the sandbox's fakes received so far, oldest first.
pub(crate) fn journal(served: &Served) -> Vec<Value> {
    let control = served.env["PULL_THROUGH_SANDBOX_URL"].clone();
    let text = block_on(async move {
        reqwest::get(format!("{control}/_sandbox/journal"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The last sequence number of the journal: requests after it are the next step's.
pub(crate) fn mark(served: &Served) -> u64 {
    journal(served)
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The writes (not GET or HEAD) Google's APIs received after `mark`, as
/// `service METHOD path?query`.
pub(crate) fn google_writes_since(served: &Served, mark: u64) -> Vec<String> {
    journal(served)
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap_or(0) > mark)
        .filter(|e| {
            matches!(
                e["service"].as_str(),
                Some("artifactregistry" | "secretmanager" | "cloudresourcemanager")
            )
        })
        .filter(|e| !matches!(e["method"].as_str(), Some("GET" | "HEAD")))
        .map(|e| {
            let query = e["query"]
                .as_str()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            format!(
                "{} {} {}{query}",
                e["service"].as_str().unwrap(),
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect()
}
