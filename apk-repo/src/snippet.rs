//! Dockerfile and `apko.yaml` snippets that install packages from an authenticated
//! repository without leaving the credentials in an image layer.
//!
//! The credentials travel as BuildKit secrets, mounted only for the `RUN` that needs them.
//! The shell is written so that it does what it says: Chainguard's tutorial line
//! `export HTTP_AUTH=... apk update && apk add wget` exports two variables named `apk` and
//! `update` and never runs `apk update`. A missing secret stops the build (`required=true`,
//! and a bare assignment's status is `cat`'s) instead of surfacing later as apk's
//! "Permission denied".
//!
//! ```
//! use apk_repo::snippet::Dockerfile;
//! let dockerfile = Dockerfile::new("cgr.dev/chainguard/wolfi-base", ["wget"])
//!     .with_http_auth("https://apk.cgr.dev/example.com".parse()?)
//!     .render();
//! assert!(dockerfile.contains("HTTP_AUTH=\"$(cat /run/secrets/http_auth)\" && export HTTP_AUTH && \\\n    apk add --no-cache wget"));
//! # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
//! ```

use std::fmt::Write as _;

use crate::repo_url::RepoUrl;

/// How the Dockerfile gets the repository's credentials.
#[derive(Debug, Clone)]
enum Credentials {
    /// A secret `http_auth` holding the `HTTP_AUTH` value; the repository line has no
    /// credentials and is written to `/etc/apk/repositories`.
    HttpAuth(RepoUrl),
    /// A secret `apk_repositories` holding the whole repositories file (lines with
    /// credentials), mounted over `/etc/apk/repositories` for the install only.
    RepositoriesFile,
}

/// A Dockerfile that installs packages from an authenticated repository.
///
/// ```
/// let text = apk_repo::snippet::Dockerfile::new("cgr.dev/chainguard/wolfi-base", ["wget"]).render();
/// assert!(text.contains("apk add --no-cache wget"));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Dockerfile {
    base_image: String,
    packages: Vec<String>,
    credentials: Credentials,
}

impl Dockerfile {
    /// Installs `packages` on `base_image`; the credentials come from a repositories-file
    /// secret unless [`Dockerfile::with_http_auth`] says otherwise.
    ///
    /// ```
    /// let text = apk_repo::snippet::Dockerfile::new("cgr.dev/chainguard/wolfi-base", ["curl"]).render();
    /// assert!(text.contains("--mount=type=secret,id=apk_repositories,target=/etc/apk/repositories"));
    /// ```
    pub fn new<I, S>(base_image: &str, packages: I) -> Dockerfile
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Dockerfile {
            base_image: base_image.to_owned(),
            packages: packages.into_iter().map(Into::into).collect(),
            credentials: Credentials::RepositoriesFile,
        }
    }

    /// Uses `repository` (its credentials, if any, are dropped) with `HTTP_AUTH` from a
    /// secret `http_auth`. The default repositories are replaced by this one.
    ///
    /// ```
    /// let text = apk_repo::snippet::Dockerfile::new("cgr.dev/chainguard/wolfi-base", ["wget"])
    ///     .with_http_auth("https://u:secret@apk.cgr.dev/example.com".parse()?)
    ///     .render();
    /// assert!(!text.contains("secret@"));
    /// assert!(text.contains("echo https://apk.cgr.dev/example.com > /etc/apk/repositories"));
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn with_http_auth(mut self, repository: RepoUrl) -> Dockerfile {
        let bare = RepoUrl::parse(repository.base().as_str()).unwrap_or(repository);
        self.credentials = Credentials::HttpAuth(bare);
        self
    }

    /// The Dockerfile, with a comment saying how to build it.
    ///
    /// ```
    /// let text = apk_repo::snippet::Dockerfile::new("alpine:3.20", ["bash", "libstdc++"]).render();
    /// assert!(text.starts_with("# syntax=docker/dockerfile:1\n"));
    /// assert!(text.contains("apk add --no-cache bash libstdc++"));
    /// ```
    pub fn render(&self) -> String {
        let packages = self
            .packages
            .iter()
            .map(|p| shell_word(p))
            .collect::<Vec<_>>()
            .join(" ");
        let mut text = String::from("# syntax=docker/dockerfile:1\n");
        match &self.credentials {
            Credentials::HttpAuth(repository) => {
                let _ = write!(
                    text,
                    "# Build with: docker build --secret id=http_auth,env=HTTP_AUTH .\n\
                     # where HTTP_AUTH=basic:<host>:<user>:<token> in the building shell.\n\
                     FROM {base}\n\
                     RUN echo {repo} > /etc/apk/repositories\n\
                     # The secret is readable only during this RUN and never lands in a layer.\n\
                     RUN --mount=type=secret,id=http_auth,required=true \\\n    \
                     HTTP_AUTH=\"$(cat /run/secrets/http_auth)\" && export HTTP_AUTH && \\\n    \
                     apk add --no-cache {packages}\n",
                    base = self.base_image,
                    repo = shell_word(&repository.expose()),
                );
            }
            Credentials::RepositoriesFile => {
                let _ = write!(
                    text,
                    "# Build with: docker build --secret id=apk_repositories,src=repositories .\n\
                     # where the file holds the cache's line, e.g.\n\
                     #   https://<user>:<token>@<host>/artifactory/<key>/\n\
                     FROM {base}\n\
                     # Mounted over /etc/apk/repositories for this RUN only: the default\n\
                     # repositories are out of the way and the token never lands in a layer.\n\
                     RUN --mount=type=secret,id=apk_repositories,target=/etc/apk/repositories \\\n    \
                     apk add --no-cache {packages}\n",
                    base = self.base_image,
                );
            }
        }
        text
    }
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+/:@%=".contains(c));
    if plain {
        word.to_owned()
    } else {
        crate::http_auth::single_quote(word)
    }
}

/// An `apko.yaml` `contents` block, with `archs`.
///
/// Repository URLs are written without credentials; apko reads them from `HTTP_AUTH`
/// (`basic:<host>:<user>:<token>`, the host matching exactly).
///
/// ```
/// use apk_repo::snippet::apko_contents;
/// let yaml = apko_contents(
///     &["https://apk.cgr.dev/example.com".parse()?],
///     &["https://packages.wolfi.dev/os/wolfi-signing.rsa.pub"],
///     &["wget", "libstdc++"],
///     &["x86_64", "aarch64"],
/// );
/// assert_eq!(yaml, "\
/// contents:
///   keyring:
///     - https://packages.wolfi.dev/os/wolfi-signing.rsa.pub
///   repositories:
///     - https://apk.cgr.dev/example.com
///   packages:
///     - wget
///     - libstdc++
/// archs:
///   - x86_64
///   - aarch64
/// ");
/// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
/// ```
pub fn apko_contents(
    repositories: &[RepoUrl],
    keyring: &[&str],
    packages: &[&str],
    archs: &[&str],
) -> String {
    let mut yaml = String::from("contents:\n");
    let mut list = |indent: &str, key: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(yaml, "{indent}{key}:");
        for item in items {
            let _ = writeln!(yaml, "{indent}  - {}", yaml_scalar(&item));
        }
    };
    list(
        "  ",
        "keyring",
        keyring.iter().map(|k| (*k).to_owned()).collect(),
    );
    list(
        "  ",
        "repositories",
        repositories
            .iter()
            .map(|r| r.base().as_str().to_owned())
            .collect(),
    );
    list(
        "  ",
        "packages",
        packages.iter().map(|p| (*p).to_owned()).collect(),
    );
    list("", "archs", archs.iter().map(|a| (*a).to_owned()).collect());
    yaml
}

/// A YAML plain scalar when it is safe, a double-quoted one otherwise.
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with([' ', ':']);
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_auth_dockerfile_is_exact() {
        let text = Dockerfile::new("cgr.dev/chainguard/wolfi-base", ["wget", "libstdc++"])
            .with_http_auth("https://apk.cgr.dev/example.com".parse().unwrap())
            .render();
        assert_eq!(
            text,
            "# syntax=docker/dockerfile:1\n\
             # Build with: docker build --secret id=http_auth,env=HTTP_AUTH .\n\
             # where HTTP_AUTH=basic:<host>:<user>:<token> in the building shell.\n\
             FROM cgr.dev/chainguard/wolfi-base\n\
             RUN echo https://apk.cgr.dev/example.com > /etc/apk/repositories\n\
             # The secret is readable only during this RUN and never lands in a layer.\n\
             RUN --mount=type=secret,id=http_auth,required=true \\\n    \
             HTTP_AUTH=\"$(cat /run/secrets/http_auth)\" && export HTTP_AUTH && \\\n    \
             apk add --no-cache wget libstdc++\n"
        );
    }

    #[test]
    fn the_shell_runs_every_command() {
        // The snippet's RUN lines, joined the way the shell sees them: each step runs only
        // if the one before worked, and a missing secret fails the assignment.
        let text = Dockerfile::new("x", ["wget"])
            .with_http_auth("https://apk.cgr.dev/example.com".parse().unwrap())
            .render();
        let run = text
            .split("RUN --mount")
            .nth(1)
            .unwrap()
            .replace("\\\n    ", "");
        let (mount, commands) = run.split_once(' ').unwrap();
        assert_eq!(mount, "=type=secret,id=http_auth,required=true");
        let steps: Vec<&str> = commands.trim().split(" && ").collect();
        assert_eq!(
            steps,
            [
                "HTTP_AUTH=\"$(cat /run/secrets/http_auth)\"",
                "export HTTP_AUTH",
                "apk add --no-cache wget"
            ],
            "a bare assignment fails when cat does; export takes only the name"
        );
    }

    #[test]
    fn odd_words_are_quoted() {
        assert_eq!(shell_word("wget"), "wget");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(yaml_scalar("wget"), "wget");
        assert_eq!(yaml_scalar("@tag"), "\"@tag\"");
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
    }
}
