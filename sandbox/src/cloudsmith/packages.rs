//! `/packages/{owner}/{repo}/`: the images a caching upstream keeps, as packages of the
//! repository, and the bookkeeping the registry does when it keeps one.
//!
//! A package is one image pulled by one tag (or by digest when no tag came first); the
//! manifests and blobs fetched for it after that are its files. Deleting the package
//! forgets them, so the next pull goes upstream again: how a cache is emptied.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::envelope::{forbidden, not_found};
use super::pages::paginate;
use super::{Fake, OWNER, Package, Repository, State as FakeState, now, random_slug_perm, root};
use crate::upstream::Fetched;

pub(crate) fn routes() -> Router<Arc<Fake>> {
    Router::new()
        .route("/packages/{owner}/{repo}/", get(list))
        .route(
            "/packages/{owner}/{repo}/{identifier}/",
            get(read).delete(delete),
        )
}

/// What a cached pull of `image` in repository `repo` answered for `path`
/// (`manifests/<reference>` or `blobs/<digest>`).
pub(crate) fn cached(state: &FakeState, repo: &str, image: &str, path: &str) -> Option<Fetched> {
    state
        .cache
        .get(&(repo.to_owned(), image.to_owned(), path.to_owned()))
        .map(|(fetched, _)| fetched.clone())
}

/// Keeps `fetched` as `path` of `image` in repository `repo` (a `slug_perm`). A manifest
/// pulled by tag belongs to that tag's package (made on first pull), and is also kept
/// under its digest; anything pulled by digest belongs to the image's newest package.
pub(crate) fn keep(state: &mut FakeState, repo: &str, image: &str, path: &str, fetched: Fetched) {
    let tag = path
        .strip_prefix("manifests/")
        .filter(|reference| !reference.starts_with("sha256:"));
    let of_image = |package: &&Package| package.repository == repo && package.name == image;
    let existing = match tag {
        Some(tag) => state
            .packages
            .iter()
            .filter(of_image)
            .find(|package| package.version == tag),
        None => state.packages.iter().filter(of_image).max_by_key(|p| p.seq),
    }
    .map(|package| package.slug_perm.clone());
    let package = match existing {
        Some(package) => package,
        None => {
            let seq = state.seq();
            let version = tag
                .map(str::to_owned)
                .or_else(|| fetched.digest.clone())
                .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_owned());
            let slug_perm = random_slug_perm(12);
            state.packages.push(Package {
                seq,
                slug_perm: slug_perm.clone(),
                repository: repo.to_owned(),
                name: image.to_owned(),
                version,
                uploaded_at: now(),
            });
            slug_perm
        }
    };
    let key = |path: String| (repo.to_owned(), image.to_owned(), path);
    if let (Some(_), Some(digest)) = (tag, fetched.digest.as_deref()) {
        state.cache.insert(
            key(format!("manifests/{digest}")),
            (fetched.clone(), package.clone()),
        );
    }
    state.cache.insert(key(path.to_owned()), (fetched, package));
}

fn package_json(
    state: &FakeState,
    package: &Package,
    repo: &Repository,
    headers: &HeaderMap,
) -> Value {
    let size: usize = state
        .cache
        .values()
        .filter(|(_, owner)| *owner == package.slug_perm)
        .map(|(fetched, _)| fetched.body.len())
        .sum();
    let slug = repo.slug();
    let tags = if package.version.starts_with("sha256:") {
        json!({})
    } else {
        json!({ "version": [package.version] })
    };
    json!({
        "slug_perm": package.slug_perm,
        "identifier_perm": package.slug_perm,
        "slug": package.slug_perm.to_ascii_lowercase(),
        "name": package.name,
        "version": package.version,
        "format": "docker",
        "package_type": 1,
        "namespace": OWNER,
        "repository": slug,
        "status_str": "Completed",
        "stage_str": "Fully Synchronised",
        "is_sync_completed": true,
        "uploaded_at": package.uploaded_at,
        "size": size,
        "tags": tags,
        "self_url": format!("{}packages/{OWNER}/{slug}/{}/", root(headers), package.slug_perm),
    })
}

/// Whether `package` matches one `query` term: `name:`, `version:`, `format:` or a bare
/// word (the name), without regard to case; a value matches anywhere in the field unless
/// anchored with `^` or `$`.
fn matches_term(package: &Package, term: &str) -> bool {
    let (field, value) = match term.split_once(':') {
        Some(("name", value)) => (package.name.as_str(), value),
        Some(("version", value)) => (package.version.as_str(), value),
        Some(("format", value)) => ("docker", value),
        _ => (package.name.as_str(), term),
    };
    let field = field.to_lowercase();
    let value = value.to_lowercase();
    match (value.strip_prefix('^'), value.strip_suffix('$')) {
        (Some(rest), _) if rest.ends_with('$') => field == rest.trim_end_matches('$'),
        (Some(rest), _) => field.starts_with(rest),
        (None, Some(rest)) => field.ends_with(rest),
        (None, None) => field.contains(&value),
    }
}

/// Whether `package` matches every term, a term after `NOT` negated (the search syntax
/// is boolean; `AND` is implied and dropped before).
fn matches_all(package: &Package, terms: &[&str]) -> bool {
    let mut negate = false;
    for term in terms {
        if term.eq_ignore_ascii_case("not") {
            negate = !negate;
            continue;
        }
        if matches_term(package, term) == negate {
            return false;
        }
        negate = false;
    }
    true
}

/// `GET /packages/{owner}/{repo}/[?query=name:IMAGE]`, oldest first, paginated.
async fn list(
    State(fake): State<Arc<Fake>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let items: Vec<Value> = {
        let state = fake.lock();
        let Some(repository) = state.repo(&repo) else {
            return not_found();
        };
        let terms: Vec<&str> = query
            .iter()
            .filter(|(key, _)| key == "query")
            .flat_map(|(_, value)| value.split_whitespace())
            .filter(|term| !term.eq_ignore_ascii_case("and"))
            .collect();
        state
            .packages
            .iter()
            .filter(|package| package.repository == repository.slug_perm)
            .filter(|package| matches_all(package, &terms))
            .map(|package| package_json(&state, package, repository, &headers))
            .collect()
    };
    paginate(
        items,
        &query,
        &headers,
        &format!("/packages/{owner}/{repo}/"),
    )
}

/// `GET /packages/{owner}/{repo}/{identifier}/`.
async fn read(
    State(fake): State<Arc<Fake>>,
    Path((owner, repo, identifier)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let state = fake.lock();
    let Some(repository) = state.repo(&repo) else {
        return not_found();
    };
    state
        .packages
        .iter()
        .find(|p| p.repository == repository.slug_perm && p.slug_perm == identifier)
        .map_or_else(not_found, |package| {
            axum::Json(package_json(&state, package, repository, &headers)).into_response()
        })
}

/// `DELETE /packages/{owner}/{repo}/{identifier}/`: 204, and the copy is gone.
async fn delete(
    State(fake): State<Arc<Fake>>,
    Path((owner, repo, identifier)): Path<(String, String, String)>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let mut state = fake.lock();
    let Some(repository) = state.repo(&repo).map(|r| r.slug_perm.clone()) else {
        return not_found();
    };
    let before = state.packages.len();
    state
        .packages
        .retain(|p| !(p.repository == repository && p.slug_perm == identifier));
    if state.packages.len() == before {
        return not_found();
    }
    state.cache.retain(|_, (_, package)| *package != identifier);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str) -> Package {
        Package {
            seq: 1,
            slug_perm: "p".to_owned(),
            repository: "r".to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
            uploaded_at: now(),
        }
    }

    #[test]
    fn query_terms_match_anywhere_unless_anchored() {
        let nginx = package("chainguard/nginx", "latest");
        assert!(matches_term(&nginx, "name:nginx"));
        assert!(matches_term(&nginx, "NGINX"));
        assert!(!matches_term(&nginx, "name:^nginx$"));
        assert!(matches_term(&nginx, "name:^chainguard/nginx$"));
        assert!(matches_term(&nginx, "name:^chain"));
        assert!(matches_term(&nginx, "name:nginx$"));
        assert!(matches_term(&nginx, "version:latest"));
        assert!(matches_term(&nginx, "format:docker"));
        assert!(!matches_term(&nginx, "name:go"));
        assert!(matches_all(&nginx, &["name:nginx", "NOT", "name:go"]));
        assert!(!matches_all(&nginx, &["NOT", "format:docker"]));
        assert!(matches_all(&nginx, &["not", "not", "format:docker"]));
    }
}
