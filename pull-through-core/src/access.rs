//! What a person types after setting up a cache: [`ClientAccess`].
//!
//! Items that embed a secret hold it as [`Sensitive`] text: shown, it names the secret
//! (`"$ARTIFACTORY_TOKEN"`, or apk's `user:*@host` form); the real text comes only from
//! [`Sensitive::expose`] or [`Reveal::Secrets`].
//!
//! ```
//! use pull_through_core::{AccessItem, CacheName, ClientAccess, Reveal, Sensitive};
//!
//! let access = ClientAccess::new(CacheName::new("cgr-public")?)
//!     .with(AccessItem::DockerLogin {
//!         registry: "example.jfrog.io".into(),
//!         username: "linky@example.com".into(),
//!         password: Sensitive::new("\"$ARTIFACTORY_TOKEN\"", "the-token"),
//!     })
//!     .with(AccessItem::DockerPull { reference: "example.jfrog.io/cgr-public/chainguard/go:latest".into() });
//! let text = access.render(Reveal::Names);
//! assert!(text.contains("--password \"$ARTIFACTORY_TOKEN\""));
//! assert!(!text.contains("the-token"));
//! assert!(access.render(Reveal::Secrets).contains("--password the-token"));
//! # Ok::<(), pull_through_core::ValidationError>(())
//! ```

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::spec::CacheName;

/// Text that contains a secret: a safe form to show, and the real form behind
/// [`Sensitive::expose`]. `Debug` and `Display` print the safe form.
///
/// ```
/// use pull_through_core::Sensitive;
/// let line = Sensitive::new("https://linky%40example.com:*@example.jfrog.io/artifactory/cg-private/",
///     "https://linky%40example.com:token@example.jfrog.io/artifactory/cg-private/");
/// assert_eq!(line.to_string(), "https://linky%40example.com:*@example.jfrog.io/artifactory/cg-private/");
/// assert!(line.expose().contains(":token@"));
/// ```
#[derive(Clone)]
pub struct Sensitive {
    shown: String,
    secret: SecretString,
}

impl Sensitive {
    /// Pairs the form to show with the real text.
    ///
    /// ```
    /// # use pull_through_core::Sensitive;
    /// let value = Sensitive::new("basic:apk.cgr.dev:user:$TOKEN", "basic:apk.cgr.dev:user:abc");
    /// assert_eq!(format!("{value:?}"), "Sensitive(\"basic:apk.cgr.dev:user:$TOKEN\")");
    /// ```
    pub fn new(shown: impl Into<String>, secret: impl Into<SecretString>) -> Self {
        Sensitive {
            shown: shown.into(),
            secret: secret.into(),
        }
    }

    /// The form that may be shown (names the secret, never contains it).
    ///
    /// ```
    /// # use pull_through_core::Sensitive;
    /// assert_eq!(Sensitive::new("$TOKEN", "abc").shown(), "$TOKEN");
    /// ```
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The real text. Print it only where a person asked for secrets.
    ///
    /// ```
    /// # use pull_through_core::Sensitive;
    /// assert_eq!(Sensitive::new("$TOKEN", "abc").expose(), "abc");
    /// ```
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    fn pick(&self, reveal: Reveal) -> &str {
        match reveal {
            Reveal::Names => self.shown(),
            Reveal::Secrets => self.expose(),
        }
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sensitive({:?})", self.shown)
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Whether rendering shows secrets or only their names.
///
/// ```
/// use pull_through_core::{AccessItem, Reveal, Sensitive};
/// let auth = AccessItem::HttpAuth { value: Sensitive::new("basic:apk.cgr.dev:u:${T}", "basic:apk.cgr.dev:u:x") };
/// assert_eq!(auth.render(Reveal::default()), "export HTTP_AUTH=\"basic:apk.cgr.dev:u:${T}\"");
/// assert_eq!(auth.render(Reveal::Secrets), "export HTTP_AUTH=basic:apk.cgr.dev:u:x");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reveal {
    /// Name secrets (`"$CHAINGUARD_TOKEN"`, `user:*@host`); the default.
    #[default]
    Names,
    /// Print the secrets themselves.
    Secrets,
}

/// What kind of text a [`AccessItem::Snippet`] is.
///
/// ```
/// use pull_through_core::{AccessItem, Reveal, Sensitive, SnippetKind};
/// let snippet = AccessItem::Snippet {
///     kind: SnippetKind::Shell,
///     title: "log in".into(),
///     text: Sensitive::new("docker login cgr.dev", "docker login cgr.dev"),
/// };
/// assert_eq!(snippet.render(Reveal::Names), "# log in\ndocker login cgr.dev");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnippetKind {
    /// A Dockerfile.
    Dockerfile,
    /// An `apko.yaml` fragment.
    Apko,
    /// Shell commands.
    Shell,
}

/// One thing a person uses to reach a cache.
///
/// ```
/// use pull_through_core::{AccessItem, Reveal, Sensitive};
/// let login = AccessItem::DockerLogin {
///     registry: "cgr.dev".into(),
///     username: "0123456789abcdef0123456789abcdef01234567/0123456789abcdef".into(),
///     password: Sensitive::new("\"$CHAINGUARD_TOKEN\"", "eyJ..."),
/// };
/// assert_eq!(
///     login.render(Reveal::Names),
///     "docker login cgr.dev --username 0123456789abcdef0123456789abcdef01234567/0123456789abcdef --password \"$CHAINGUARD_TOKEN\""
/// );
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AccessItem {
    /// `docker login <registry> --username <user> --password <password>`.
    DockerLogin {
        /// The registry host (and port).
        registry: String,
        /// The username.
        username: String,
        /// The password.
        password: Sensitive,
    },
    /// A reference `docker pull` accepts.
    DockerPull {
        /// The reference (`host/key/chainguard/go:latest`).
        reference: String,
    },
    /// A line for `/etc/apk/repositories`; may carry credentials in its userinfo.
    ApkRepository {
        /// The repository URL.
        url: Sensitive,
    },
    /// An `HTTP_AUTH` value for apk and apko. The shown form names the password as a
    /// shell variable (`basic:apk.cgr.dev:user:${TOKEN}`) and is rendered in double
    /// quotes so that the line works where that variable is set.
    HttpAuth {
        /// The value, `basic:<host>:<user>:<password>`.
        value: Sensitive,
    },
    /// A snippet of a file or script.
    Snippet {
        /// What kind.
        kind: SnippetKind,
        /// What it is for.
        title: String,
        /// The text.
        text: Sensitive,
    },
}

impl AccessItem {
    /// The item as a person would type or paste it.
    ///
    /// ```
    /// # use pull_through_core::{AccessItem, Reveal};
    /// let pull = AccessItem::DockerPull { reference: "host/cgr-public/chainguard/go".into() };
    /// assert_eq!(pull.render(Reveal::Names), "docker pull host/cgr-public/chainguard/go");
    /// ```
    pub fn render(&self, reveal: Reveal) -> String {
        match self {
            AccessItem::DockerLogin {
                registry,
                username,
                password,
            } => format!(
                "docker login {} --username {} --password {}",
                shell_quote(registry),
                shell_quote(username),
                match reveal {
                    Reveal::Names => password.shown().to_owned(),
                    Reveal::Secrets => shell_quote(password.expose()),
                }
            ),
            AccessItem::DockerPull { reference } => format!("docker pull {reference}"),
            AccessItem::ApkRepository { url } => url.pick(reveal).to_owned(),
            AccessItem::HttpAuth { value } => match reveal {
                // Double quotes, so the variable the shown form names is expanded.
                Reveal::Names => format!("export HTTP_AUTH=\"{}\"", value.shown()),
                Reveal::Secrets => format!("export HTTP_AUTH={}", shell_quote(value.expose())),
            },
            AccessItem::Snippet { title, text, .. } => {
                format!("# {title}\n{}", text.pick(reveal))
            }
        }
    }
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '%' | '+' | '=')
        });
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Everything a person needs to use one cache, as [`PullThroughBackend::client_access`]
/// returns it.
///
/// [`PullThroughBackend::client_access`]: crate::PullThroughBackend::client_access
///
/// ```
/// use pull_through_core::{AccessItem, CacheName, ClientAccess, Reveal};
/// let access = ClientAccess::new(CacheName::new("cgr-public")?)
///     .with(AccessItem::DockerPull { reference: "example.jfrog.io/cgr-public/chainguard/go".into() });
/// assert_eq!(access.render(Reveal::Names), "docker pull example.jfrog.io/cgr-public/chainguard/go");
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientAccess {
    /// The cache.
    pub cache: CacheName,
    /// The items, in the order a person uses them (login before pulls).
    pub items: Vec<AccessItem>,
}

impl ClientAccess {
    /// No items yet.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, ClientAccess};
    /// let access = ClientAccess::new(CacheName::new("cgr-public")?);
    /// assert!(access.items.is_empty());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn new(cache: CacheName) -> Self {
        ClientAccess {
            cache,
            items: Vec::new(),
        }
    }

    /// Adds an item.
    ///
    /// ```
    /// # use pull_through_core::{AccessItem, CacheName, ClientAccess};
    /// let access = ClientAccess::new(CacheName::new("cgr-public")?)
    ///     .with(AccessItem::DockerPull { reference: "h/cgr-public/chainguard/go".into() });
    /// assert_eq!(access.items.len(), 1);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with(mut self, item: AccessItem) -> Self {
        self.items.push(item);
        self
    }

    /// Every item rendered, one after another, separated by newlines.
    ///
    /// ```
    /// # use pull_through_core::{AccessItem, CacheName, ClientAccess, Reveal};
    /// let access = ClientAccess::new(CacheName::new("cgr-virt")?)
    ///     .with(AccessItem::DockerPull { reference: "h/cgr-virt/chainguard/go".into() })
    ///     .with(AccessItem::DockerPull { reference: "h/cgr-virt/example.com/chainguard-base:latest".into() });
    /// assert_eq!(access.render(Reveal::Names).lines().count(), 2);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn render(&self, reveal: Reveal) -> String {
        self.items
            .iter()
            .map(|item| item.render(reveal))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The credentials a person logs in to a backend with, for rendering `docker login` lines
/// and credentialed repository URLs.
///
/// `password_var` names the environment variable the person keeps the password in, so
/// rendered commands can refer to it instead of printing it.
///
/// ```
/// use pull_through_core::ClientLogin;
/// let login = ClientLogin::new("linky@example.com", "token", "ARTIFACTORY_TOKEN");
/// assert!(!format!("{login:?}").contains("\"token\""));
/// ```
#[derive(Clone)]
pub struct ClientLogin {
    /// The username.
    pub username: String,
    /// The password or token.
    pub password: SecretString,
    /// The environment variable that holds the password.
    pub password_var: String,
}

impl ClientLogin {
    /// A login.
    ///
    /// ```
    /// # use pull_through_core::ClientLogin;
    /// let login = ClientLogin::new("linky@example.com", "token", "ARTIFACTORY_TOKEN");
    /// assert_eq!(login.username, "linky@example.com");
    /// ```
    pub fn new(
        username: impl Into<String>,
        password: impl Into<SecretString>,
        password_var: impl Into<String>,
    ) -> Self {
        ClientLogin {
            username: username.into(),
            password: password.into(),
            password_var: password_var.into(),
        }
    }

    /// The password as rendered commands show it: `"$VAR"`.
    ///
    /// ```
    /// # use pull_through_core::ClientLogin;
    /// let login = ClientLogin::new("linky@example.com", "token", "ARTIFACTORY_TOKEN");
    /// assert_eq!(login.password_reference(), "\"$ARTIFACTORY_TOKEN\"");
    /// ```
    pub fn password_reference(&self) -> String {
        format!("\"${}\"", self.password_var)
    }
}

impl fmt::Debug for ClientLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLogin")
            .field("username", &self.username)
            .field("password", &crate::redact::REDACTED)
            .field("password_var", &self.password_var)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("cgr.dev"), "cgr.dev");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn every_item_hides_secrets_by_default() {
        let secret = "s3cr3t-value";
        let items = [
            AccessItem::DockerLogin {
                registry: "cgr.dev".into(),
                username: "id".into(),
                password: Sensitive::new("\"$CHAINGUARD_TOKEN\"", secret),
            },
            AccessItem::ApkRepository {
                url: Sensitive::new(
                    "https://u:*@h/artifactory/k/",
                    format!("https://u:{secret}@h/"),
                ),
            },
            AccessItem::HttpAuth {
                value: Sensitive::new(
                    "basic:apk.cgr.dev:id:${CHAINGUARD_TOKEN}",
                    format!("basic:apk.cgr.dev:id:{secret}"),
                ),
            },
            AccessItem::Snippet {
                kind: SnippetKind::Shell,
                title: "t".into(),
                text: Sensitive::new("echo $X", format!("echo {secret}")),
            },
        ];
        for item in &items {
            assert!(!item.render(Reveal::Names).contains(secret), "{item:?}");
            assert!(!format!("{item:?}").contains(secret));
            assert!(item.render(Reveal::Secrets).contains(secret));
        }
        assert_eq!(
            items[2].render(Reveal::Names),
            "export HTTP_AUTH=\"basic:apk.cgr.dev:id:${CHAINGUARD_TOKEN}\""
        );
    }
}
