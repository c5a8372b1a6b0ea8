//! The apk client side of pull-through. **Not implemented yet.**
//!
//! This crate will hold what an apk client needs to reach an authenticated package
//! repository (Chainguard's private APK repository, or an Artifactory or Cloudsmith cache of
//! it), with the rules of apk-tools and apko built in: `HTTP_AUTH` values, repository URLs
//! with correctly percent-encoded credentials, `/etc/apk/repositories` editing, fetching and
//! verifying signed `APKINDEX.tar.gz` files, apk version ordering, `search` and `policy`, and
//! Dockerfile and `apko.yaml` snippets.
//!
//! Until it lands, this crate exports nothing; see the workspace README for the status of
//! each crate.

pub mod fetch;
pub mod http_auth;
pub mod index;
pub mod repo_url;
pub mod repositories;
pub mod search;
pub mod version;
