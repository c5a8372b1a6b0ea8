//! `/repos/`: create, list, read, partial update and delete, with the checks of
//! `RepositoryCreateRequest` and `RepositoryRequestPatch` and the `Repository` answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::account::REGIONS;
use super::envelope::{
    Fields, Pattern, Spec, boolean, check, choice, forbidden, not_found, parse_object, patterned,
    text,
};
use super::pages::paginate;
use super::{Fake, OWNER, Repository, State as FakeState, now, random_slug_perm, root};

const TYPES: &[&str] = &["Public", "Private", "Open-Source"];
const READ_WRITE_ADMIN: &[&str] = &["Admin", "Write", "Read"];
const WRITE_ADMIN: &[&str] = &["Admin", "Write"];

/// The booleans a repository request may carry; they answer `false` unless set.
const BOOLEANS: [&str; 28] = [
    "contextual_auth_realm",
    "copy_own",
    "cosign_signing_enabled",
    "delete_own",
    "docker_refresh_tokens_enabled",
    "enforce_eula",
    "generic_package_index_enabled",
    "index_files",
    "is_public_hidden",
    "move_own",
    "npm_upstream_tags_take_precedence",
    "nuget_native_signing_enabled",
    "proxy_npmjs",
    "proxy_pypi",
    "raw_package_index_enabled",
    "raw_package_index_signatures_enabled",
    "replace_packages_by_default",
    "resync_own",
    "scan_own",
    "show_setup_all",
    "strict_npm_validation",
    "tag_pre_releases_as_latest",
    "use_debian_labels",
    "use_default_cargo_upstream",
    "use_noarch_packages",
    "use_source_packages",
    "use_vulnerability_scanning",
    "user_entitlements_enabled",
];

/// The enum fields with their values and defaults (the spec's).
const ENUMS: [(&str, &[&str], &str); 13] = [
    ("repository_type_str", TYPES, "Public"),
    (
        "content_kind",
        &["Standard", "Distribution", "Upstream"],
        "Standard",
    ),
    (
        "broadcast_state",
        &["Off", "Private", "Internal", "Public", "Open-Source"],
        "Off",
    ),
    (
        "default_privilege",
        &["Admin", "Write", "Read", "None"],
        "None",
    ),
    ("copy_packages", READ_WRITE_ADMIN, "Read"),
    ("move_packages", READ_WRITE_ADMIN, "Admin"),
    ("scan_packages", READ_WRITE_ADMIN, "Read"),
    ("manage_entitlements_privilege", READ_WRITE_ADMIN, "Admin"),
    ("use_entitlements_privilege", READ_WRITE_ADMIN, "Read"),
    ("view_statistics", READ_WRITE_ADMIN, "Read"),
    ("delete_packages", WRITE_ADMIN, "Admin"),
    ("replace_packages", WRITE_ADMIN, "Write"),
    ("resync_packages", WRITE_ADMIN, "Admin"),
];

/// The fields the fake checks and keeps. `storage_region` is for creates only: the
/// patch model has no such field, so a PATCH carrying one has it ignored.
fn specs(create: bool) -> Vec<Spec> {
    let mut specs = vec![
        patterned("name", 1, Some(50), Pattern::Name).required(),
        patterned("slug", 1, None, Pattern::Slug),
        text("description", 0, None).nullable(),
    ];
    if create {
        specs.push(choice("storage_region", REGIONS));
    }
    specs.extend(ENUMS.iter().map(|(name, values, _)| choice(name, values)));
    specs.extend(BOOLEANS.iter().map(|name| boolean(name)));
    specs
}

pub(crate) fn routes() -> Router<Arc<Fake>> {
    Router::new()
        .route("/repos/", get(list_all))
        .route("/repos/{owner}/", get(list).post(create))
        .route(
            "/repos/{owner}/{identifier}/",
            get(read).patch(update).delete(delete),
        )
}

/// The `Repository` answer: every request field, and the read-only ones.
pub(crate) fn repo_json(state: &FakeState, repo: &Repository, headers: &HeaderMap) -> Value {
    let mut answer = repo.config.clone();
    let slug = repo.slug();
    let api = root(headers);
    let kind = answer
        .get("repository_type_str")
        .and_then(Value::as_str)
        .unwrap_or("Public")
        .to_owned();
    let packages = state
        .packages
        .iter()
        .filter(|package| package.repository == repo.slug_perm)
        .count();
    let size: usize = state
        .cache
        .iter()
        .filter(|((owner, _, _), _)| *owner == repo.slug_perm)
        .map(|(_, (fetched, _))| fetched.body.len())
        .sum();
    let read_only = json!({
        "slug_perm": repo.slug_perm,
        "namespace": OWNER,
        "namespace_url": format!("{api}namespaces/{OWNER}/"),
        "self_url": format!("{api}repos/{OWNER}/{slug}/"),
        "self_html_url": format!("https://cloudsmith.io/~{OWNER}/repos/{slug}/"),
        "self_webapp_url": format!("https://app.cloudsmith.com/{OWNER}/{slug}"),
        "cdn_url": null,
        "created_at": repo.created_at,
        "deleted_at": null,
        // The spec says only "integer"; the numbers are the fake's guess.
        "repository_type": match kind.as_str() { "Public" => 1, "Private" => 2, _ => 3 },
        "is_private": kind == "Private",
        "is_public": kind == "Public",
        "is_open_source": kind == "Open-Source",
        "package_count": packages,
        "package_count_excl_subcomponents": packages,
        "package_group_count": packages,
        "num_downloads": 0,
        "num_quarantined_packages": 0,
        "num_policy_violated_packages": 0,
        "active_connection_count": 0,
        "size": size,
        "size_str": format!("{size} B"),
        "gpg_keys": [],
        "ecdsa_keys": [],
        "distributes": [],
        "open_source_license": null,
        "open_source_project_url": null,
    });
    if let Value::Object(read_only) = read_only {
        answer.extend(read_only);
    }
    Value::Object(answer)
}

/// `GET /repos/`: every repository the key can see.
async fn list_all(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let items = listed(&fake, &headers, &query);
    paginate(items, &query, &headers, "/repos/")
}

/// `GET /repos/{owner}/`, with `query` (terms on name and slug; `name:`, `slug:`,
/// `repository_type:` and `broadcast_state:` filters) and `sort` (`name`, `created_at`,
/// `package_count`, `downloads`, `favorites`, `size`; `-` for descending; default
/// `-created_at`).
async fn list(
    State(fake): State<Arc<Fake>>,
    Path(owner): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let items = listed(&fake, &headers, &query);
    paginate(items, &query, &headers, &format!("/repos/{owner}/"))
}

fn listed(fake: &Fake, headers: &HeaderMap, query: &[(String, String)]) -> Vec<Value> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let state = fake.lock();
    let terms: Vec<String> = param("query")
        .unwrap_or_default()
        .split_whitespace()
        .filter(|term| !term.eq_ignore_ascii_case("and"))
        .map(str::to_lowercase)
        .collect();
    let mut repos: Vec<&Repository> = state
        .repos
        .iter()
        .filter(|repo| terms.iter().all(|term| matches_term(repo, term)))
        .collect();
    let sort = param("sort").unwrap_or("-created_at");
    let (descending, key) = match sort.strip_prefix('-') {
        Some(key) => (true, key),
        None => (false, sort),
    };
    let count = |repo: &Repository| {
        state
            .packages
            .iter()
            .filter(|p| p.repository == repo.slug_perm)
            .count()
    };
    repos.sort_by(|a, b| match key {
        "name" => a.name().to_lowercase().cmp(&b.name().to_lowercase()),
        "package_count" => count(a).cmp(&count(b)),
        _ => a.seq.cmp(&b.seq),
    });
    if descending {
        repos.reverse();
    }
    repos
        .into_iter()
        .map(|repo| repo_json(&state, repo, headers))
        .collect()
}

fn matches_term(repo: &Repository, term: &str) -> bool {
    let field = |name: &str| {
        repo.config
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase()
    };
    match term.split_once(':') {
        Some(("name", value)) => field("name").contains(value),
        Some(("slug", value)) => field("slug").contains(value),
        Some(("repository_type", value)) => field("repository_type_str") == value,
        Some(("broadcast_state", value)) => field("broadcast_state") == value,
        _ => field("name").contains(term) || field("slug").contains(term),
    }
}

/// A slug made from a name: lower-case ASCII letters and digits, `-` between words;
/// `-2`, `-3`... appended while it is taken.
fn slug_from(name: &str, state: &FakeState) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_matches('-').to_owned();
    if slug.len() < 2 {
        slug = format!("repo-{}", random_slug_perm(6).to_ascii_lowercase());
    }
    let mut candidate = slug.clone();
    let mut n = 1;
    while state.repo(&candidate).is_some() {
        n += 1;
        candidate = format!("{slug}-{n}");
    }
    candidate
}

/// What the checks of the fields cannot say: Open-Source is refused (the API cannot
/// create one), and a slug must be free.
fn refusals(
    kept: &Map<String, Value>,
    state: &FakeState,
    this: Option<&str>,
) -> Result<(), Fields> {
    let mut fields = Fields::default();
    if kept.get("repository_type_str").and_then(Value::as_str) == Some("Open-Source") {
        fields.add(
            "repository_type_str",
            "Open-Source repositories cannot be created or converted via the API.",
        );
    }
    if let Some(slug) = kept.get("slug").and_then(Value::as_str) {
        if state
            .repo(slug)
            .is_some_and(|other| Some(other.slug_perm.as_str()) != this)
        {
            fields.add("slug", "A repository with this slug already exists.");
        }
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(fields)
    }
}

/// `POST /repos/{owner}/`: 201 with the `Repository`.
async fn create(
    State(fake): State<Arc<Fake>>,
    Path(owner): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let body = match parse_object(&body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let kept = match check(&body, &specs(true), false) {
        Ok(kept) => kept,
        Err(fields) => return fields.into_response(),
    };
    let mut state = fake.lock();
    if let Err(fields) = refusals(&kept, &state, None) {
        return fields.into_response();
    }
    let mut config = Map::new();
    config.insert("description".to_owned(), "".into());
    config.insert("storage_region".to_owned(), "default".into());
    for (name, _, default) in ENUMS {
        config.insert(name.to_owned(), default.into());
    }
    for name in BOOLEANS {
        config.insert(name.to_owned(), false.into());
    }
    config.extend(kept);
    if config.get("slug").is_none_or(Value::is_null) {
        let name = config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let slug = slug_from(name, &state);
        config.insert("slug".to_owned(), slug.into());
    }
    let seq = state.seq();
    let repo = Repository {
        seq,
        slug_perm: random_slug_perm(12),
        created_at: now(),
        config,
        upstreams: Vec::new(),
        other_upstreams: Vec::new(),
    };
    let answer = repo_json(&state, &repo, &headers);
    state.repos.push(repo);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// `GET /repos/{owner}/{identifier}/`, by slug or `slug_perm`.
async fn read(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let state = fake.lock();
    match state.repo(&identifier) {
        Some(repo) => axum::Json(repo_json(&state, repo, &headers)).into_response(),
        None => not_found(),
    }
}

/// `PATCH /repos/{owner}/{identifier}/`: the given fields, checked as on create. The
/// content kind is set once, at creation.
async fn update(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let mut state = fake.lock();
    let Some((slug_perm, content_kind)) = state.repo(&identifier).map(|repo| {
        (
            repo.slug_perm.clone(),
            repo.config.get("content_kind").cloned(),
        )
    }) else {
        return not_found();
    };
    let body = match parse_object(&body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let kept = match check(&body, &specs(false), true) {
        Ok(kept) => kept,
        Err(fields) => return fields.into_response(),
    };
    let mut refused = refusals(&kept, &state, Some(&slug_perm)).err();
    if kept
        .get("content_kind")
        .is_some_and(|kind| Some(kind) != content_kind.as_ref())
    {
        refused.get_or_insert_with(Fields::default).add(
            "content_kind",
            "The content kind of a repository can only be set when it is created.",
        );
    }
    if let Some(fields) = refused {
        return fields.into_response();
    }
    let Some(repo) = state.repo_mut(&slug_perm) else {
        return not_found();
    };
    repo.config.extend(kept);
    let repo = repo.clone();
    axum::Json(repo_json(&state, &repo, &headers)).into_response()
}

/// `DELETE /repos/{owner}/{identifier}/`: 204, with its upstreams and packages.
///
/// The real service soft-deletes: the repository can be restored for a while and its
/// slug stays reserved meanwhile (the spec's words, reference §1), so a client must not
/// count on creating the same slug right after a delete. The fake forgets it at once.
async fn delete(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier)): Path<(String, String)>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let mut state = fake.lock();
    let Some(index) = state.repos.iter().position(|repo| repo.is(&identifier)) else {
        return not_found();
    };
    let repo = state.repos.remove(index);
    state
        .packages
        .retain(|package| package.repository != repo.slug_perm);
    state
        .cache
        .retain(|(owner, _, _), _| *owner != repo.slug_perm);
    StatusCode::NO_CONTENT.into_response()
}
