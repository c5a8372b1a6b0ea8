//! `HTTP_AUTH`: the credentials apk-tools and apko send to an authenticated repository.
//!
//! The value is `basic:<host>:<user>:<password>`, and its two consumers read it
//! differently:
//!
//! - **apk-tools** (libfetch) matches `basic:` ignoring case, skips the second field
//!   without looking at it, takes the user up to the next `:` and the whole rest as the
//!   password. It sends the credentials only after a 401.
//! - **apko** (and melange through it) splits on *every* `:`, needs exactly four parts,
//!   and sends the credentials only when the second field equals the request's host
//!   exactly.
//!
//! So a value both accept has a bare host (no port: its `:` breaks apko's split) and a
//! user and password without `:`. [`HttpAuth::basic`] enforces that;
//! [`HttpAuth::basic_any_host`] builds Chainguard's documented empty-host form
//! `basic::ID:TOKEN`, which apk-tools accepts for any host and **apko ignores**.
//!
//! ```
//! use apk_repo::http_auth::HttpAuth;
//! use pull_through_core::ExposeSecret;
//!
//! let auth = HttpAuth::basic("apk.cgr.dev", "0123456789abcdef0123456789abcdef01234567/0123456789abcdef", "eyJhbGciOi.x.y")?;
//! assert_eq!(auth.value().expose_secret(),
//!     "basic:apk.cgr.dev:0123456789abcdef0123456789abcdef01234567/0123456789abcdef:eyJhbGciOi.x.y");
//! assert_eq!(auth.export_line("CHAINGUARD_TOKEN").shown(),
//!     "export HTTP_AUTH=\"basic:apk.cgr.dev:0123456789abcdef0123456789abcdef01234567/0123456789abcdef:${CHAINGUARD_TOKEN}\"");
//!
//! // A host with a port cannot work with apko.
//! assert!(HttpAuth::basic("apk.example.com:8443", "user", "token").is_err());
//! # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
//! ```

use std::fmt;

use pull_through_core::{ExposeSecret, SecretString, Sensitive};

/// Why a value cannot be used as `HTTP_AUTH`.
///
/// ```
/// use apk_repo::http_auth::{HttpAuth, HttpAuthError};
/// match HttpAuth::basic("apk.cgr.dev", "user:name", "token") {
///     Err(HttpAuthError::ColonInUser) => {}
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpAuthError {
    /// The host names a port.
    #[error(
        "HTTP_AUTH host {host:?} has a port: apko splits HTTP_AUTH on every ':' and would ignore \
         the value, and apk-tools would read the port as the user; use the host name alone"
    )]
    HostWithPort {
        /// The host as given.
        host: String,
    },
    /// The host is empty where one is required.
    #[error(
        "HTTP_AUTH host is empty: apko sends credentials only to the host named there; give the \
         repository's host (such as apk.cgr.dev), or use HttpAuth::basic_any_host for the \
         apk-tools-only form"
    )]
    EmptyHost,
    /// The host is not a plain host name.
    #[error("HTTP_AUTH host {host:?} is not a host name: give it without scheme, path or spaces")]
    InvalidHost {
        /// The host as given.
        host: String,
    },
    /// The user contains `:`.
    #[error(
        "HTTP_AUTH user contains ':': apk-tools ends the user at the first ':' and apko needs \
         exactly four ':'-separated fields; neither can carry it"
    )]
    ColonInUser,
    /// The password contains `:`.
    #[error(
        "HTTP_AUTH password contains ':': apk-tools would accept it, but apko splits on every \
         ':' and would silently send no credentials; use a token without ':'"
    )]
    ColonInPassword,
    /// A field is empty.
    #[error("HTTP_AUTH {field} is empty")]
    Empty {
        /// `user` or `password`.
        field: &'static str,
    },
    /// A field has a line break or other control character, which cannot live in one
    /// environment variable line.
    #[error(
        "HTTP_AUTH {field} contains a control character (a trailing newline from a file?); \
         remove it"
    )]
    ControlCharacter {
        /// `host`, `user` or `password`.
        field: &'static str,
    },
    /// A value that apk-tools itself would not use.
    #[error("not an HTTP_AUTH value apk-tools accepts: {problem}")]
    Malformed {
        /// What is wrong.
        problem: String,
    },
}

/// An `HTTP_AUTH` value. The password is a [`SecretString`]; `Debug` and `Display` show
/// `basic:<host>:<user>:[REDACTED]`.
///
/// ```
/// use apk_repo::http_auth::HttpAuth;
/// let auth = HttpAuth::basic("apk.cgr.dev", "user", "token")?;
/// assert_eq!(format!("{auth:?}"), "HttpAuth(basic:apk.cgr.dev:user:[REDACTED])");
/// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
/// ```
#[derive(Clone)]
pub struct HttpAuth {
    /// The scheme as written: apko compares it with `basic` exactly.
    scheme: String,
    host: String,
    user: String,
    password: SecretString,
}

fn check_field(field: &'static str, text: &str) -> Result<(), HttpAuthError> {
    if text.chars().any(char::is_control) {
        return Err(HttpAuthError::ControlCharacter { field });
    }
    Ok(())
}

fn check_user_and_password(user: &str, password: &str) -> Result<(), HttpAuthError> {
    check_field("user", user)?;
    check_field("password", password)?;
    if user.is_empty() {
        return Err(HttpAuthError::Empty { field: "user" });
    }
    if password.is_empty() {
        return Err(HttpAuthError::Empty { field: "password" });
    }
    if user.contains(':') {
        return Err(HttpAuthError::ColonInUser);
    }
    if password.contains(':') {
        return Err(HttpAuthError::ColonInPassword);
    }
    Ok(())
}

impl HttpAuth {
    /// `basic:<host>:<user>:<password>`, checked so that both apk-tools and apko use it:
    /// a bare host (no port), and no `:` in user or password.
    ///
    /// For Chainguard's registry the host is `apk.cgr.dev`; for an ephemeral token
    /// (`chainctl auth token --audience apk.cgr.dev`) the user is `user`, for a pull token
    /// it is the identity id.
    ///
    /// # Errors
    ///
    /// An [`HttpAuthError`] naming the rule and the tool it would break.
    ///
    /// ```
    /// use apk_repo::http_auth::{HttpAuth, HttpAuthError};
    /// let err = HttpAuth::basic("apk.cgr.dev", "user", "a:b").unwrap_err();
    /// assert_eq!(err, HttpAuthError::ColonInPassword);
    /// ```
    pub fn basic(
        host: &str,
        user: &str,
        password: impl Into<SecretString>,
    ) -> Result<HttpAuth, HttpAuthError> {
        let password = password.into();
        check_field("host", host)?;
        if host.is_empty() {
            return Err(HttpAuthError::EmptyHost);
        }
        if host.contains(['/', '@', ' ']) {
            return Err(HttpAuthError::InvalidHost {
                host: host.to_owned(),
            });
        }
        if host.contains(':') {
            return Err(HttpAuthError::HostWithPort {
                host: host.to_owned(),
            });
        }
        check_user_and_password(user, password.expose_secret())?;
        Ok(HttpAuth {
            scheme: "basic".to_owned(),
            host: host.to_ascii_lowercase(),
            user: user.to_owned(),
            password,
        })
    }

    /// `basic::<user>:<password>`, the empty-host form Chainguard documents for pull
    /// tokens.
    ///
    /// **apko and melange ignore this form**: they send credentials only when the second
    /// field equals the request's host, and an empty field never does. apk-tools sends it
    /// to any host that answers 401. Prefer [`HttpAuth::basic`] unless, for apk-tools, a
    /// repository redirects to hosts you cannot name. (This crate's
    /// [`RepoClient`](crate::fetch::RepoClient) follows no redirect of a request that
    /// carries credentials, whichever form is used.)
    ///
    /// # Errors
    ///
    /// An [`HttpAuthError`] for a user or password with `:` or control characters.
    ///
    /// ```
    /// use apk_repo::http_auth::HttpAuth;
    /// use pull_through_core::ExposeSecret;
    /// let auth = HttpAuth::basic_any_host("org/identity", "jwt")?;
    /// assert_eq!(auth.value().expose_secret(), "basic::org/identity:jwt");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn basic_any_host(
        user: &str,
        password: impl Into<SecretString>,
    ) -> Result<HttpAuth, HttpAuthError> {
        let password = password.into();
        check_user_and_password(user, password.expose_secret())?;
        Ok(HttpAuth {
            scheme: "basic".to_owned(),
            host: String::new(),
            user: user.to_owned(),
            password,
        })
    }

    /// Reads a value the way apk-tools' libfetch does: `basic:` in any letter case, the
    /// second field skipped, the user up to the next `:`, the rest (which may hold `:`) as
    /// the password. No percent-decoding.
    ///
    /// The result may not suit apko; check with [`HttpAuth::apko_sends_to`].
    ///
    /// # Errors
    ///
    /// [`HttpAuthError::Malformed`] where apk-tools would send no credentials.
    ///
    /// ```
    /// use apk_repo::http_auth::HttpAuth;
    /// use pull_through_core::ExposeSecret;
    /// let auth = HttpAuth::parse("BASIC:whatever:user:pass:word")?;
    /// assert_eq!(auth.user(), "user");
    /// assert_eq!(auth.password().expose_secret(), "pass:word");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn parse(value: &str) -> Result<HttpAuth, HttpAuthError> {
        let malformed = |problem: &str| HttpAuthError::Malformed {
            problem: problem.to_owned(),
        };
        let scheme_ok = value
            .get(..6)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("basic:"));
        if !scheme_ok {
            return Err(malformed(
                "it must start with basic: (the only scheme apk supports)",
            ));
        }
        let rest = &value[6..];
        let (host, credentials) = rest
            .split_once(':')
            .ok_or_else(|| malformed("a ':' must end the host field"))?;
        let (user, password) = credentials
            .split_once(':')
            .ok_or_else(|| malformed("a ':' must separate user and password"))?;
        Ok(HttpAuth {
            scheme: value[..5].to_owned(),
            host: host.to_owned(),
            user: user.to_owned(),
            password: SecretString::from(password),
        })
    }

    /// The host field (empty for the any-host form).
    ///
    /// ```
    /// # use apk_repo::http_auth::HttpAuth;
    /// assert_eq!(HttpAuth::basic("APK.cgr.dev", "user", "t")?.host(), "apk.cgr.dev");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The user.
    ///
    /// ```
    /// # use apk_repo::http_auth::HttpAuth;
    /// assert_eq!(HttpAuth::basic("apk.cgr.dev", "user", "t")?.user(), "user");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password.
    ///
    /// ```
    /// # use apk_repo::http_auth::HttpAuth;
    /// use pull_through_core::ExposeSecret;
    /// assert_eq!(HttpAuth::basic("apk.cgr.dev", "user", "t")?.password().expose_secret(), "t");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The whole value, `basic:<host>:<user>:<password>`.
    ///
    /// ```
    /// # use apk_repo::http_auth::HttpAuth;
    /// use pull_through_core::ExposeSecret;
    /// let auth = HttpAuth::basic("apk.cgr.dev", "user", "t")?;
    /// assert_eq!(auth.value().expose_secret(), "basic:apk.cgr.dev:user:t");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn value(&self) -> SecretString {
        SecretString::from(format!(
            "{}:{}:{}:{}",
            self.scheme,
            self.host,
            self.user,
            self.password.expose_secret()
        ))
    }

    /// Whether apko would send these credentials to `host` (a URL's `host[:port]`):
    /// exactly four `:`-separated fields and the second equal to the host.
    ///
    /// ```
    /// # use apk_repo::http_auth::HttpAuth;
    /// let auth = HttpAuth::basic("apk.cgr.dev", "user", "t")?;
    /// assert!(auth.apko_sends_to("apk.cgr.dev"));
    /// assert!(!auth.apko_sends_to("virtualapk.cgr.dev"));
    /// assert!(!HttpAuth::basic_any_host("user", "t")?.apko_sends_to("apk.cgr.dev"));
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn apko_sends_to(&self, host: &str) -> bool {
        let parts = self.value().expose_secret().split(':').count();
        // apko's checks are exact: the scheme in lower case, the host as Go's URL.Host.
        self.scheme == "basic" && parts == 4 && !self.host.is_empty() && self.host == host
    }

    /// `export HTTP_AUTH=...` for a shell. Shown, the password is `${password_var}` inside
    /// double quotes, so the shown line works where that variable holds the token;
    /// exposed, the value is single-quoted.
    ///
    /// ```
    /// # use apk_repo::http_auth::HttpAuth;
    /// let line = HttpAuth::basic("apk.cgr.dev", "user", "tok'en")?.export_line("TOKEN");
    /// assert_eq!(line.shown(), "export HTTP_AUTH=\"basic:apk.cgr.dev:user:${TOKEN}\"");
    /// assert_eq!(line.expose(), r"export HTTP_AUTH='basic:apk.cgr.dev:user:tok'\''en'");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn export_line(&self, password_var: &str) -> Sensitive {
        Sensitive::new(
            format!("export HTTP_AUTH=\"{}\"", self.with_variable(password_var)),
            format!(
                "export HTTP_AUTH={}",
                single_quote(self.value().expose_secret())
            ),
        )
    }

    /// The `docker run` argument that passes the value: `-e "HTTP_AUTH=..."`, shown with
    /// `${password_var}` as in [`HttpAuth::export_line`].
    ///
    /// ```
    /// # use apk_repo::http_auth::HttpAuth;
    /// let arg = HttpAuth::basic("apk.cgr.dev", "user", "t")?.docker_env_arg("TOKEN");
    /// assert_eq!(arg.shown(), "-e \"HTTP_AUTH=basic:apk.cgr.dev:user:${TOKEN}\"");
    /// assert_eq!(arg.expose(), "-e 'HTTP_AUTH=basic:apk.cgr.dev:user:t'");
    /// # Ok::<(), apk_repo::http_auth::HttpAuthError>(())
    /// ```
    pub fn docker_env_arg(&self, password_var: &str) -> Sensitive {
        Sensitive::new(
            format!("-e \"HTTP_AUTH={}\"", self.with_variable(password_var)),
            format!(
                "-e {}",
                single_quote(&format!("HTTP_AUTH={}", self.value().expose_secret()))
            ),
        )
    }

    /// The value with the password as `${VAR}`, safe inside double quotes: `$`, `` ` ``,
    /// `"` and `\` in host and user are escaped, and a name that is not a shell
    /// identifier is replaced by `PASSWORD`.
    fn with_variable(&self, password_var: &str) -> String {
        let identifier = password_var
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && password_var
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        let var = if identifier { password_var } else { "PASSWORD" };
        format!(
            "{}:{}:{}:${{{var}}}",
            self.scheme,
            double_quote_escape(&self.host),
            double_quote_escape(&self.user)
        )
    }
}

/// Escapes what is special inside POSIX double quotes.
fn double_quote_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '$' | '`' | '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Single-quotes text for a POSIX shell.
pub(crate) fn single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpAuth({self})")
    }
}

impl fmt::Display for HttpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.scheme,
            self.host,
            self.user,
            pull_through_core::redact::REDACTED
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    #[test]
    fn build_refusals() {
        use HttpAuthError as E;
        let cases: [(&str, &str, &str, E); 9] = [
            (
                "apk.cgr.dev:443",
                "u",
                "p",
                E::HostWithPort {
                    host: "apk.cgr.dev:443".into(),
                },
            ),
            ("", "u", "p", E::EmptyHost),
            (
                "https://apk.cgr.dev",
                "u",
                "p",
                E::InvalidHost {
                    host: "https://apk.cgr.dev".into(),
                },
            ),
            (
                "apk.cgr.dev/org",
                "u",
                "p",
                E::InvalidHost {
                    host: "apk.cgr.dev/org".into(),
                },
            ),
            ("apk.cgr.dev", "a:b", "p", E::ColonInUser),
            ("apk.cgr.dev", "u", "p:q", E::ColonInPassword),
            ("apk.cgr.dev", "", "p", E::Empty { field: "user" }),
            ("apk.cgr.dev", "u", "", E::Empty { field: "password" }),
            (
                "apk.cgr.dev",
                "u",
                "token\n",
                E::ControlCharacter { field: "password" },
            ),
        ];
        for (host, user, password, expected) in cases {
            let err = HttpAuth::basic(host, user, password).unwrap_err();
            assert_eq!(err, expected, "{host} {user}");
        }
        let message = HttpAuthError::ColonInPassword.to_string();
        assert!(message.contains("apko"), "{message}");
        let message = HttpAuthError::HostWithPort { host: "h:1".into() }.to_string();
        assert!(
            message.contains("apko") && message.contains("apk-tools"),
            "{message}"
        );
    }

    #[test]
    fn tricky_credentials_round_trip_through_the_libfetch_reading() {
        let long_jwt = format!("{JWT}{}", "A".repeat(2048));
        let cases = [
            ("linky@example.com", JWT.to_owned()),
            (
                "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
                JWT.to_owned(),
            ),
            ("user", "p%41ss/with@odd chars".to_owned()),
            ("üser", "pässwörd".to_owned()),
            ("user", long_jwt),
        ];
        for (user, password) in cases {
            let auth = HttpAuth::basic("apk.cgr.dev", user, password.as_str()).unwrap();
            let read = HttpAuth::parse(auth.value().expose_secret()).unwrap();
            assert_eq!(read.host(), "apk.cgr.dev");
            assert_eq!(read.user(), user);
            assert_eq!(
                read.password().expose_secret(),
                password,
                "no decoding happens"
            );
            assert!(auth.apko_sends_to("apk.cgr.dev"));
        }
    }

    #[test]
    fn libfetch_reading_rules() {
        let auth = HttpAuth::parse("Basic::id:tok:en").unwrap();
        assert_eq!((auth.host(), auth.user()), ("", "id"));
        assert_eq!(auth.password().expose_secret(), "tok:en");
        assert!(!auth.apko_sends_to(""), "apko never matches an empty host");
        let with_port = HttpAuth::parse("basic:h:8080:u:p").unwrap();
        assert_eq!(
            (with_port.host(), with_port.user()),
            ("h", "8080"),
            "a port breaks it"
        );
        for bad in ["bearer:h:u:p", "basic", "basic:h", "basic:h:u", ""] {
            assert!(
                matches!(HttpAuth::parse(bad), Err(HttpAuthError::Malformed { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn apko_needs_the_scheme_in_lower_case() {
        let upper = HttpAuth::parse("BASIC:apk.cgr.dev:u:t").unwrap();
        assert!(!upper.apko_sends_to("apk.cgr.dev"));
        assert_eq!(
            upper.value().expose_secret(),
            "BASIC:apk.cgr.dev:u:t",
            "kept as written"
        );
        assert!(
            HttpAuth::parse("basic:apk.cgr.dev:u:t")
                .unwrap()
                .apko_sends_to("apk.cgr.dev")
        );
    }

    #[test]
    fn shown_lines_are_shell_safe() {
        let auth = HttpAuth::basic("apk.cgr.dev", "us$er\"x`id`", "t").unwrap();
        assert_eq!(
            auth.export_line("TOK").shown(),
            "export HTTP_AUTH=\"basic:apk.cgr.dev:us\\$er\\\"x\\`id\\`:${TOK}\""
        );
        assert_eq!(
            auth.export_line("not a name; rm -rf").shown(),
            "export HTTP_AUTH=\"basic:apk.cgr.dev:us\\$er\\\"x\\`id\\`:${PASSWORD}\""
        );
    }

    #[test]
    fn renderings_hide_the_password() {
        let auth = HttpAuth::basic("apk.cgr.dev", "user", JWT).unwrap();
        for text in [
            format!("{auth:?}"),
            auth.to_string(),
            auth.export_line("CHAINGUARD_TOKEN").to_string(),
            auth.docker_env_arg("CHAINGUARD_TOKEN").to_string(),
        ] {
            assert!(!text.contains(JWT), "{text}");
        }
        assert_eq!(auth.to_string(), "basic:apk.cgr.dev:user:[REDACTED]");
        assert_eq!(
            auth.export_line("T").expose(),
            format!("export HTTP_AUTH='basic:apk.cgr.dev:user:{JWT}'")
        );
    }
}
