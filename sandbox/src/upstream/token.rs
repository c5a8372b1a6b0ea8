//! The secrets the fakes hand out and hold, kept out of `Debug` so that a failing test's
//! output, a panic message or a log line cannot show them.

/// A sandbox token or password; [`SandboxToken::expose`] gives the text. Sandbox tokens
/// only open the sandbox, but they are still kept out of `Debug`, so code written against
/// the sandbox keeps the habits it needs against real services.
///
/// ```
/// let token = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").admin_token();
/// assert_eq!(format!("{token:?}"), "SandboxToken([REDACTED])");
/// ```
#[derive(Clone)]
pub struct SandboxToken(pub(crate) String);

impl SandboxToken {
    /// The token's text.
    ///
    /// ```
    /// let token = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").admin_token();
    /// assert!(token.expose().split('.').count() == 3);
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SandboxToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SandboxToken([REDACTED])")
    }
}

/// The Basic credentials a cache stores for its upstream: a user name and a password (for
/// Chainguard, a pull token's identity id and its JWT). `Debug` shows the user name only.
///
/// ```
/// use pull_through_sandbox::upstream::Credentials;
///
/// let credentials = Credentials::new("45a0c61ea6fd977f050c5fb9ac06a69eed764595/b2a1", "eyJhbGciOi.e30.c2ln");
/// assert_eq!(credentials.username(), "45a0c61ea6fd977f050c5fb9ac06a69eed764595/b2a1");
/// assert!(!format!("{credentials:?}").contains("eyJ"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: SandboxToken,
}

impl Credentials {
    /// Credentials of `username` with `password`.
    ///
    /// ```
    /// let credentials = pull_through_sandbox::upstream::Credentials::new("user", "secret");
    /// ```
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: SandboxToken(password.into()),
        }
    }

    /// The user name.
    ///
    /// ```
    /// let credentials = pull_through_sandbox::upstream::Credentials::new("user", "secret");
    /// assert_eq!(credentials.username(), "user");
    /// ```
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password.
    ///
    /// ```
    /// let credentials = pull_through_sandbox::upstream::Credentials::new("user", "secret");
    /// assert_eq!(credentials.password().expose(), "secret");
    /// ```
    pub fn password(&self) -> &SandboxToken {
        &self.password
    }

    /// Adds these credentials to an upstream request as Basic authentication.
    pub(crate) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.username, Some(self.password.expose()))
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}
