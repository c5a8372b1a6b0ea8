//! The apk client side of pull-through: what an apk client needs to reach an
//! authenticated package repository (Chainguard's private APK repository, or an
//! Artifactory or Cloudsmith cache of it), with the rules of apk-tools and apko built in.
//!
//! | module | what it holds |
//! |---|---|
//! | [`http_auth`] | `HTTP_AUTH` values: built so both apk-tools and apko accept them, read the way libfetch does |
//! | [`repo_url`] | repository URLs with credentials encoded so apk-tools, apko and Go read the same bytes; apk-style masking |
//! | [`repositories`] | `/etc/apk/repositories`: parse, edit, render, write atomically |
//! | [`index`] | `APKINDEX.tar.gz`: split, verify (`RSA`, `RSA256`, `RSA512`; any trusted key), parse, write, sign |
//! | [`package`] | apk v2 package files (`.apk`): build one, signed, with its index record; split gzip members |
//! | [`fetch`] | downloads with apk's credential rules, and key discovery through `apk-configuration` |
//! | [`version`] | apk 3 version ordering; invalid versions reported, never guessed |
//! | [`search`] | `apk search` and `apk policy` |
//! | [`snippet`] | Dockerfiles with build secrets, `apko.yaml` contents |
//! | [`access`] | client access to a cache of APK packages: the line, `HTTP_AUTH`, snippets |
//! | [`probe`] | a pull through a cache (index, then one package) as verification checks |
//!
//! Written from the documented behaviour of apk-tools (GPL) without copying its code or
//! test vectors.
//!
//! ```
//! use apk_repo::http_auth::HttpAuth;
//! use apk_repo::repo_url::RepoUrl;
//! use apk_repo::repositories::RepositoriesFile;
//!
//! // The line of Chainguard's Artifactory tutorial, '@' in the user encoded.
//! let line = RepoUrl::artifactory("https://example.jfrog.io", "cg-private")?
//!     .with_credentials("linky@example.com", "token")?;
//! let mut file = RepositoriesFile::parse("https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n");
//! file.disable_defaults();
//! file.add(line);
//! assert_eq!(file.render_masked(),
//!     "# https://dl-cdn.alpinelinux.org/alpine/v3.20/main\nhttps://linky%40example.com:*@example.jfrog.io/artifactory/cg-private/\n");
//!
//! // Or Chainguard's repository directly, with HTTP_AUTH.
//! let auth = HttpAuth::basic("apk.cgr.dev", "user", "token").unwrap();
//! assert_eq!(auth.export_line("TOKEN").shown(), "export HTTP_AUTH=\"basic:apk.cgr.dev:user:${TOKEN}\"");
//! # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
//! ```

pub mod access;
pub mod fetch;
pub mod http_auth;
pub mod index;
pub mod package;
pub mod probe;
pub mod repo_url;
pub mod repositories;
pub mod search;
pub mod snippet;
pub mod version;
