//! Repository URLs, with credentials in the userinfo encoded so that apk-tools, apko and
//! Go read back the same bytes.
//!
//! libfetch ends the userinfo at the first `@` before the first `/`, the user at `:`, and
//! percent-decodes both; Go and the `url` crate end it at the *last* `@`. The only encoding
//! all of them read the same is: every byte outside RFC 3986's unreserved characters
//! (`A-Z a-z 0-9 - . _ ~`) percent-encoded, `%` included (the `url` crate alone leaves `%`
//! as it is, which libfetch would then decode).
//!
//! ```
//! use apk_repo::repo_url::RepoUrl;
//!
//! let line = RepoUrl::artifactory("https://example.jfrog.io", "cg-private")?
//!     .with_credentials("linky@example.com", "tok/en")?;
//! assert_eq!(line.expose(), "https://linky%40example.com:tok%2Fen@example.jfrog.io/artifactory/cg-private/");
//! // Printed the way apk prints it: password masked.
//! assert_eq!(line.to_string(), "https://linky%40example.com:*@example.jfrog.io/artifactory/cg-private/");
//! # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
//! ```

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use pull_through_core::{ExposeSecret, OrgId, OrgName, SecretString, Sensitive, VirtualApkRepo};
use url::Url;

/// Everything but RFC 3986's unreserved characters.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest decoded password apk-tools up to 2.14 and 3.0.3 accept in a URL
/// (`URL_PWDLEN`); later releases and Wolfi's build accept 4096.
///
/// ```
/// assert_eq!(apk_repo::repo_url::OLD_APK_PASSWORD_LIMIT, 1024);
/// ```
pub const OLD_APK_PASSWORD_LIMIT: usize = 1024;

/// The longest decoded user apk-tools accepts in a URL (`URL_USERLEN`).
///
/// ```
/// assert_eq!(apk_repo::repo_url::APK_USER_LIMIT, 256);
/// ```
pub const APK_USER_LIMIT: usize = 256;

/// Why a repository URL cannot be built or read.
///
/// ```
/// use apk_repo::repo_url::{RepoUrl, RepoUrlError};
/// let err = RepoUrl::parse_line("https://user:%zz@h/os").unwrap_err();
/// assert!(matches!(err, RepoUrlError::BadUserinfo { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepoUrlError {
    /// Not an http(s) URL with a host.
    #[error("{given:?} is not a repository URL: {problem}")]
    Invalid {
        /// The URL, without any userinfo.
        given: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// Credentials with plain http to a host that is not loopback.
    #[error(
        "refusing to put credentials in the plain-http URL {url}: anyone on the path could read \
         them; use https"
    )]
    InsecureCredentials {
        /// The URL, without userinfo.
        url: String,
    },
    /// An empty user or password, or a control character in one.
    #[error("repository URL {field} {problem}")]
    BadCredential {
        /// `user` or `password`.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// Userinfo libfetch would refuse (`%00`, a bad escape).
    #[error("the credentials in the URL are malformed: {problem}")]
    BadUserinfo {
        /// What is wrong.
        problem: String,
    },
}

/// Something that works with current clients but breaks an older or stricter one.
///
/// ```
/// use apk_repo::repo_url::{RepoUrl, RepoUrlWarning};
/// let jwt = "e".repeat(1500);
/// let url = RepoUrl::parse("https://apk.cgr.dev/example.com")?.with_credentials("id", jwt.as_str())?;
/// assert!(url.warnings()[0].to_string().contains("HTTP_AUTH"));
/// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepoUrlWarning {
    /// The password is longer than apk-tools before 3.0.4 accepts in a URL.
    #[error(
        "the password is {length} bytes; apk-tools before 3.0.4 (and Alpine's 2.14) accept at \
         most 1024 in a URL and fail to parse it: pass long tokens with HTTP_AUTH instead"
    )]
    PasswordTooLongForOlderApk {
        /// The decoded length in bytes.
        length: usize,
    },
    /// The user is longer than apk-tools accepts in a URL.
    #[error("the user is {length} bytes; apk-tools accepts at most 256 in a URL")]
    UserTooLong {
        /// The decoded length in bytes.
        length: usize,
    },
}

/// A repository URL, optionally with credentials.
///
/// `Display` and `Debug` mask the password the way apk 3 prints URLs
/// (`https://user:*@host/...`), and a lone user, which is often a token, as `*`;
/// [`RepoUrl::expose`] gives the real line.
///
/// ```
/// use apk_repo::repo_url::RepoUrl;
/// let url = RepoUrl::parse("https://apk.cgr.dev/example.com")?.with_credentials("org/id", "jwt")?;
/// assert_eq!(url.to_string(), "https://org%2Fid:*@apk.cgr.dev/example.com");
/// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
/// ```
#[derive(Clone)]
pub struct RepoUrl {
    base: Url,
    user: Option<String>,
    password: Option<SecretString>,
}

fn is_loopback(url: &Url) -> bool {
    pull_through_core::http::is_loopback(url)
}

impl RepoUrl {
    /// A repository base URL without credentials. A trailing `/` is kept as given.
    ///
    /// # Errors
    ///
    /// [`RepoUrlError::Invalid`] for anything but http(s) with a host, or for userinfo
    /// (use [`RepoUrl::parse_line`] to read a line that has credentials).
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// assert!(RepoUrl::parse("https://packages.wolfi.dev/os").is_ok());
    /// assert!(RepoUrl::parse("ftp://example.com/os").is_err());
    /// ```
    pub fn parse(base: &str) -> Result<RepoUrl, RepoUrlError> {
        let invalid = |problem: &str| RepoUrlError::Invalid {
            // Shown only as far as it cannot hold a secret (a token pasted as a URL).
            given: pull_through_core::redact::shown_url(base.trim()).unwrap_or_else(|| {
                format!("a value of {} characters (not shown)", base.chars().count())
            }),
            problem: problem.to_owned(),
        };
        let url = Url::parse(base.trim()).map_err(|err| invalid(&err.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid("use an http or https URL with a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "it carries credentials; give them with with_credentials, or read the line with parse_line",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("remove the query and fragment"));
        }
        Ok(RepoUrl {
            base: url,
            user: None,
            password: None,
        })
    }

    /// Reads a repository line the way apk-tools' libfetch does: userinfo only if an `@`
    /// comes before the first `/` after the scheme, the first `@` ending it, the user
    /// ending at `:`, both percent-decoded, `%00` and malformed escapes refused.
    ///
    /// # Errors
    ///
    /// [`RepoUrlError`] where libfetch would refuse the line.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::parse_line("https://linky%40example.com:p%25ss@example.jfrog.io/artifactory/k/")?;
    /// assert_eq!(url.user(), Some("linky@example.com"));
    /// assert_eq!(url.expose(), "https://linky%40example.com:p%25ss@example.jfrog.io/artifactory/k/");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn parse_line(line: &str) -> Result<RepoUrl, RepoUrlError> {
        let line = line.trim();
        let Some((scheme, rest)) = line.split_once("://") else {
            return RepoUrl::parse(line);
        };
        let userinfo_end = rest
            .find(['/', '@'])
            .filter(|&at| rest.as_bytes()[at] == b'@');
        let Some(at) = userinfo_end else {
            // `https://abc/def:TOKEN@host/...`: an identity with an unencoded '/' turns
            // its first half into the host and the token into path. Refuse rather than
            // fetch from the wrong host and print the token as part of a path.
            let word = rest.split([' ', '\t']).next().unwrap_or_default();
            let first_two = word.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
            if first_two.contains(':') && first_two.contains('@') {
                return Err(RepoUrlError::BadUserinfo {
                    problem: "the credentials contain an unencoded '/' (a Chainguard identity \
                              id?): percent-encode it as %2F"
                        .to_owned(),
                });
            }
            return RepoUrl::parse(line);
        };
        let (userinfo, host_and_path) = (&rest[..at], &rest[at + 1..]);
        let mut repo = RepoUrl::parse(&format!("{scheme}://{host_and_path}"))?;
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        repo.user = Some(decode(user)?);
        repo.password = password.map(decode).transpose()?.map(SecretString::from);
        Ok(repo)
    }

    /// Adds credentials. Both are encoded on output; give them raw (`linky@example.com`).
    ///
    /// # Errors
    ///
    /// [`RepoUrlError::InsecureCredentials`] for plain http to a host that is not
    /// loopback; [`RepoUrlError::BadCredential`] for an empty value or a control character.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::parse("http://apk.example.com/os")?;
    /// assert!(url.with_credentials("user", "token").is_err());
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn with_credentials(
        mut self,
        user: &str,
        password: impl Into<SecretString>,
    ) -> Result<RepoUrl, RepoUrlError> {
        let password = password.into();
        if self.base.scheme() != "https" && !is_loopback(&self.base) {
            return Err(RepoUrlError::InsecureCredentials {
                url: self.base.to_string(),
            });
        }
        for (field, text) in [("user", user), ("password", password.expose_secret())] {
            if text.is_empty() {
                return Err(RepoUrlError::BadCredential {
                    field,
                    problem: "is empty",
                });
            }
            if text.chars().any(char::is_control) {
                return Err(RepoUrlError::BadCredential {
                    field,
                    problem: "contains a control character (a trailing newline?)",
                });
            }
        }
        self.user = Some(user.to_owned());
        self.password = Some(password);
        Ok(self)
    }

    /// Checks that the credentials this URL carries, if any, would not travel in clear:
    /// a URL with a user or password must be https, or plain http to loopback (a local
    /// sandbox). [`RepoUrl::parse_line`] reads such lines as they are, since a file may
    /// already hold them; call this before writing or printing a URL someone gave.
    ///
    /// # Errors
    ///
    /// [`RepoUrlError::InsecureCredentials`], naming the URL without its userinfo.
    ///
    /// ```
    /// use apk_repo::repo_url::{RepoUrl, RepoUrlError};
    /// let url = RepoUrl::parse_line("http://user:secret@example.com/os")?;
    /// let err = url.check_credentials_transport().unwrap_err();
    /// assert!(matches!(err, RepoUrlError::InsecureCredentials { .. }));
    /// assert!(!err.to_string().contains("secret"));
    /// assert!(RepoUrl::parse_line("http://example.com/os")?.check_credentials_transport().is_ok());
    /// assert!(RepoUrl::parse_line("http://u:p@127.0.0.1:8080/os")?.check_credentials_transport().is_ok());
    /// # Ok::<(), RepoUrlError>(())
    /// ```
    pub fn check_credentials_transport(&self) -> Result<(), RepoUrlError> {
        let has_credentials = self.user.is_some() || self.password.is_some();
        if has_credentials && self.base.scheme() != "https" && !is_loopback(&self.base) {
            return Err(RepoUrlError::InsecureCredentials {
                url: self.base.to_string(),
            });
        }
        Ok(())
    }

    /// Chainguard's private APK repository, `https://apk.cgr.dev/<org name>`.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::apk_cgr_dev(&"example.com".parse()?);
    /// assert_eq!(url.expose(), "https://apk.cgr.dev/example.com");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn apk_cgr_dev(org: &OrgName) -> RepoUrl {
        RepoUrl::from_catalogue(&format!("https://apk.cgr.dev/{org}"))
    }

    /// A per-organization public repository,
    /// `https://virtualapk.cgr.dev/<org id>/chainguard` or `/extra-packages`.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// use pull_through_core::VirtualApkRepo;
    /// let id = "0123456789abcdef0123456789abcdef01234567".parse()?;
    /// let url = RepoUrl::virtual_apk(&id, VirtualApkRepo::ExtraPackages);
    /// assert_eq!(url.expose(), "https://virtualapk.cgr.dev/0123456789abcdef0123456789abcdef01234567/extra-packages");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn virtual_apk(org_id: &OrgId, repo: VirtualApkRepo) -> RepoUrl {
        RepoUrl::from_catalogue(&format!(
            "https://virtualapk.cgr.dev/{org_id}/{}",
            repo.as_str()
        ))
    }

    fn from_catalogue(text: &str) -> RepoUrl {
        RepoUrl::parse(text).expect("catalogue URLs are valid")
    }

    /// An Artifactory repository as apk reaches it, `<host>/artifactory/<key>/`. `host`
    /// may be given with or without the `/artifactory` context path.
    ///
    /// # Errors
    ///
    /// [`RepoUrlError::Invalid`] for a bad host URL or a key with `/` or whitespace.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::artifactory("https://example.jfrog.io/artifactory/", "cg-apk-virt")?;
    /// assert_eq!(url.expose(), "https://example.jfrog.io/artifactory/cg-apk-virt/");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn artifactory(host: &str, key: &str) -> Result<RepoUrl, RepoUrlError> {
        if key.is_empty() || key.contains(['/', '\\']) || key.chars().any(char::is_whitespace) {
            return Err(RepoUrlError::Invalid {
                given: key.to_owned(),
                problem: "an Artifactory repository key has no '/' or whitespace".to_owned(),
            });
        }
        let mut repo = RepoUrl::parse(host)?;
        let path = repo.base.path().trim_end_matches('/').to_owned();
        let context = path.strip_suffix("/artifactory").unwrap_or(&path);
        repo.base.set_path(&format!("{context}/artifactory/{key}/"));
        Ok(repo)
    }

    /// The URL without credentials.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::parse("https://apk.cgr.dev/example.com")?.with_credentials("u", "p")?;
    /// assert_eq!(url.base().as_str(), "https://apk.cgr.dev/example.com");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The user, decoded.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// assert_eq!(RepoUrl::parse("https://h/os")?.user(), None);
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password, decoded.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// use pull_through_core::ExposeSecret;
    /// let url = RepoUrl::parse("https://h/os")?.with_credentials("u", "p@ss")?;
    /// assert_eq!(url.password().unwrap().expose_secret(), "p@ss");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn password(&self) -> Option<&SecretString> {
        self.password.as_ref()
    }

    /// The real line, credentials encoded. Print it only where a person asked for secrets.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::parse("https://h/os")?.with_credentials("a/b", "c:d")?;
    /// assert_eq!(url.expose(), "https://a%2Fb:c%3Ad@h/os");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn expose(&self) -> String {
        self.render(|password| utf8_percent_encode(password.expose_secret(), USERINFO).to_string())
    }

    /// The line as [`Sensitive`] text: shown masked, exposed whole.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let line = RepoUrl::parse("https://h/os")?.with_credentials("u", "p")?.to_sensitive();
    /// assert_eq!(line.shown(), "https://u:*@h/os");
    /// assert_eq!(line.expose(), "https://u:p@h/os");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn to_sensitive(&self) -> Sensitive {
        Sensitive::new(self.to_string(), self.expose())
    }

    /// Warnings about clients this URL would break.
    ///
    /// ```
    /// use apk_repo::repo_url::{RepoUrl, RepoUrlWarning};
    /// let long = "x".repeat(2048);
    /// let url = RepoUrl::parse("https://h/os")?.with_credentials("u", long.as_str())?;
    /// assert_eq!(url.warnings(), [RepoUrlWarning::PasswordTooLongForOlderApk { length: 2048 }]);
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn warnings(&self) -> Vec<RepoUrlWarning> {
        let mut warnings = Vec::new();
        if let Some(user) = &self.user {
            if user.len() > APK_USER_LIMIT {
                warnings.push(RepoUrlWarning::UserTooLong { length: user.len() });
            }
        }
        if let Some(password) = &self.password {
            let length = password.expose_secret().len();
            if length > OLD_APK_PASSWORD_LIMIT {
                warnings.push(RepoUrlWarning::PasswordTooLongForOlderApk { length });
            }
        }
        warnings
    }

    /// `<repo>/<arch>/APKINDEX.tar.gz`, without credentials.
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::artifactory("https://example.jfrog.io", "cg-private")?;
    /// assert_eq!(url.index_url("x86_64").as_str(),
    ///     "https://example.jfrog.io/artifactory/cg-private/x86_64/APKINDEX.tar.gz");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn index_url(&self, arch: &str) -> Url {
        self.file_url(arch, "APKINDEX.tar.gz")
    }

    /// `<repo>/<arch>/<file>`, without credentials; `file` is encoded as one path segment
    /// (package file names hold `+`, which stays as it is).
    ///
    /// ```
    /// use apk_repo::repo_url::RepoUrl;
    /// let url = RepoUrl::parse("https://apk.cgr.dev/example.com")?;
    /// assert_eq!(url.file_url("x86_64", "libstdc++-13.2.0-r1.apk").path(),
    ///     "/example.com/x86_64/libstdc++-13.2.0-r1.apk");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn file_url(&self, arch: &str, file: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(arch).push(file);
        }
        url
    }

    fn render(&self, password: impl Fn(&SecretString) -> String) -> String {
        let Some(user) = &self.user else {
            return self.base.to_string();
        };
        let text = self.base.to_string();
        let (scheme, rest) = text.split_once("://").expect("http(s) URLs have '://'");
        let user = utf8_percent_encode(user, USERINFO);
        match &self.password {
            Some(secret) => format!("{scheme}://{user}:{}@{rest}", password(secret)),
            None => format!("{scheme}://{user}@{rest}"),
        }
    }
}

fn decode(text: &str) -> Result<String, RepoUrlError> {
    let bytes = text.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'%' {
            let escape = bytes.get(index + 1..index + 3);
            let valid = escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return Err(RepoUrlError::BadUserinfo {
                    problem: "a '%' is not followed by two hex digits; encode a literal % as %25"
                        .to_owned(),
                });
            }
        }
    }
    let decoded: Vec<u8> = percent_decode_str(text).collect();
    if decoded.contains(&0) {
        return Err(RepoUrlError::BadUserinfo {
            problem: "%00 is not allowed".to_owned(),
        });
    }
    String::from_utf8(decoded).map_err(|_| RepoUrlError::BadUserinfo {
        problem: "the decoded credentials are not UTF-8".to_owned(),
    })
}

impl fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.user, &self.password) {
            // A lone user is usually a token (entitlement-style URLs): mask it too.
            (Some(_), None) => {
                let text = self.base.to_string();
                let (scheme, rest) = text.split_once("://").expect("http(s) URLs have '://'");
                write!(f, "{scheme}://*@{rest}")
            }
            _ => f.write_str(&self.render(|_| "*".to_owned())),
        }
    }
}

/// Masks anything that may be credentials in free text (comments, lines that did not
/// parse): in each word after `://`, everything up to the last `@` becomes `*`.
///
/// ```
/// use apk_repo::repo_url::mask_credentials;
/// assert_eq!(mask_credentials("# https://u:secret@h/os main"), "# https://*@h/os main");
/// assert_eq!(mask_credentials("https://abc/def:TOKEN@h/os"), "https://*@h/os");
/// assert_eq!(mask_credentials("https://h/os"), "https://h/os");
/// ```
pub fn mask_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let word_end = tail.find([' ', '\t', '\n']).unwrap_or(tail.len());
        let word = &tail[..word_end];
        match word.rfind('@') {
            Some(last) => {
                out.push('*');
                out.push_str(&word[last..]);
            }
            None => out.push_str(word),
        }
        rest = &tail[word_end..];
    }
    out.push_str(rest);
    out
}

impl std::str::FromStr for RepoUrl {
    type Err = RepoUrlError;

    /// Reads a line with [`RepoUrl::parse_line`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RepoUrl::parse_line(s)
    }
}

/// Two URLs are equal when their exposed lines are (the comparison prints nothing).
impl PartialEq for RepoUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for RepoUrl {}

impl fmt::Debug for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepoUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    /// What libfetch would read back from a line: the decoded user and password.
    fn read_back(line: &str) -> (String, String) {
        let url = RepoUrl::parse_line(line).unwrap();
        (
            url.user().unwrap().to_owned(),
            url.password().unwrap().expose_secret().to_owned(),
        )
    }

    #[test]
    fn tricky_credentials_round_trip() {
        let long = format!("{JWT}{}", "A".repeat(2048));
        let cases = [
            ("linky@example.com", JWT),
            (
                "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
                JWT,
            ),
            ("user", "p@ss/w:rd"),
            ("user", "100%25 literal%41"),
            ("us er", "spa ces"),
            ("üser", "pässwörd ✓"),
            ("user", long.as_str()),
        ];
        for (user, password) in cases {
            let line = RepoUrl::parse("https://example.jfrog.io/artifactory/cg-private/")
                .unwrap()
                .with_credentials(user, password)
                .unwrap()
                .expose();
            let userinfo = line
                .trim_start_matches("https://")
                .split_once("@example.jfrog.io")
                .unwrap()
                .0;
            assert!(
                userinfo
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%:".contains(&b))
                    && userinfo.matches(':').count() == 1,
                "only unreserved characters, escapes and the one separator: {userinfo}"
            );
            assert_eq!(
                read_back(&line),
                (user.to_owned(), password.to_owned()),
                "{line}"
            );
            // The url crate (and so Go's reading) agrees on the host.
            let parsed = Url::parse(&line).unwrap();
            assert_eq!(parsed.host_str(), Some("example.jfrog.io"));
        }
    }

    #[test]
    fn the_seed_example() {
        let line = RepoUrl::artifactory("https://example.jfrog.io", "cg-private")
            .unwrap()
            .with_credentials("linky@example.com", "token")
            .unwrap();
        assert_eq!(
            line.expose(),
            "https://linky%40example.com:token@example.jfrog.io/artifactory/cg-private/"
        );
    }

    #[test]
    fn printing_masks_like_apk() {
        let url = RepoUrl::parse("https://h/os")
            .unwrap()
            .with_credentials("u", JWT)
            .unwrap();
        assert_eq!(url.to_string(), "https://u:*@h/os");
        assert_eq!(format!("{url:?}"), "RepoUrl(https://u:*@h/os)");
        let lone = RepoUrl::parse_line(&format!("https://{JWT}@h/os")).unwrap();
        assert_eq!(lone.to_string(), "https://*@h/os");
        assert!(!format!("{lone:?}").contains(JWT));
    }

    #[test]
    fn libfetch_reading() {
        // The first '@' before the first '/' ends the userinfo.
        let url = RepoUrl::parse_line("https://u:p%40x@host/path@x").unwrap();
        assert_eq!(url.base().host_str(), Some("host"));
        assert_eq!(url.password().unwrap().expose_secret(), "p@x");
        // An '@' after the first '/' is part of the path.
        let no_userinfo = RepoUrl::parse_line("https://host/a@b").unwrap();
        assert_eq!(no_userinfo.user(), None);
        for bad in ["https://u:%zz@h/", "https://u:%0@h/", "https://u:a%00b@h/"] {
            assert!(
                matches!(
                    RepoUrl::parse_line(bad),
                    Err(RepoUrlError::BadUserinfo { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            RepoUrl::parse("https://u:p@h/os"),
            Err(RepoUrlError::Invalid { given, .. }) if !given.contains("p@")
        ));
        assert!(matches!(
            RepoUrl::parse("http://h/os")
                .unwrap()
                .with_credentials("u", "p"),
            Err(RepoUrlError::InsecureCredentials { .. })
        ));
        assert!(
            RepoUrl::parse("http://127.0.0.1:8080/os")
                .unwrap()
                .with_credentials("u", "p")
                .is_ok()
        );
        assert!(matches!(
            RepoUrl::parse("https://h/os")
                .unwrap()
                .with_credentials("u", "p\n"),
            Err(RepoUrlError::BadCredential {
                field: "password",
                ..
            })
        ));
        assert!(RepoUrl::artifactory("https://h", "a/b").is_err());
        assert!(RepoUrl::parse("/srv/repo").is_err());
    }

    #[test]
    fn an_unencoded_slash_in_credentials_is_refused_without_echo() {
        let err = RepoUrl::parse_line("https://0123abcd/ef56:SECRET-TOKEN@apk.cgr.dev/example.com")
            .unwrap_err();
        assert!(matches!(err, RepoUrlError::BadUserinfo { .. }), "{err:?}");
        assert!(!err.to_string().contains("SECRET-TOKEN"), "{err}");
        assert!(RepoUrl::parse_line("https://h/path/with@sign").is_ok());
    }

    #[test]
    fn long_user_warning() {
        let url = RepoUrl::parse("https://h/os")
            .unwrap()
            .with_credentials(&"u".repeat(300), "p")
            .unwrap();
        assert_eq!(
            url.warnings(),
            [RepoUrlWarning::UserTooLong { length: 300 }]
        );
        let short = RepoUrl::parse("https://h/os")
            .unwrap()
            .with_credentials("u", "p")
            .unwrap();
        assert!(short.warnings().is_empty());
    }
}
