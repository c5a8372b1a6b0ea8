//! [`ChainguardClient`]: the platform API (`console-api.enforce.dev`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pull_through_core::http::{HttpClient, HttpObserver, RetryConfig};
use pull_through_core::{Deleted, Error, OrgId, SecretString, ValidationError};
use url::Url;

use crate::auth::{
    CONSOLE_API_AUDIENCE, CachedTokens, ChainctlCache, OidcExchange, StaticToken, Sts, TokenSource,
    UpstreamToken,
};
use crate::model::{
    Group, Identity, Items, Role, RoleBinding, RoleBindingRequest, StaticKeys, WhoAmI,
};
use crate::pull_token::{PullToken, PullTokenOptions, Signer, new_subject};

mod unanswered;

/// The platform API's default URL.
///
/// ```
/// assert_eq!(chainguard_client::DEFAULT_API_URL, "https://console-api.enforce.dev");
/// ```
pub const DEFAULT_API_URL: &str = "https://console-api.enforce.dev";
/// The STS's default URL.
///
/// ```
/// assert_eq!(chainguard_client::DEFAULT_ISSUER_URL, "https://issuer.enforce.dev");
/// ```
pub const DEFAULT_ISSUER_URL: &str = "https://issuer.enforce.dev";

/// The size of the RSA keys pull tokens are signed with.
///
/// The default is [`KeySize::Rsa4096`] because that is what Chainguard's own pull-token
/// makers generate (chainctl and its Terraform module), and the key's public half is trusted
/// for as long as the pull token lives, up to a year ([`MAX_TTL`](crate::MAX_TTL)). The
/// private key is thrown away after one signature, so the larger size costs only the time to
/// generate it; tests and sandboxes choose [`KeySize::Rsa2048`] to save that time.
///
/// ```
/// use chainguard_client::{ChainguardClient, KeySize};
/// assert_eq!(KeySize::default(), KeySize::Rsa4096);
/// assert_eq!(KeySize::Rsa2048.bits(), 2048);
/// let builder = ChainguardClient::builder().with_key_size(KeySize::Rsa2048);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySize {
    /// 2048 bits: the quickest to generate.
    Rsa2048,
    /// 3072 bits.
    Rsa3072,
    /// 4096 bits, as chainctl.
    #[default]
    Rsa4096,
}

impl KeySize {
    /// The modulus length in bits.
    ///
    /// ```
    /// assert_eq!(chainguard_client::KeySize::Rsa3072.bits(), 3072);
    /// ```
    pub fn bits(self) -> u32 {
        match self {
            KeySize::Rsa2048 => 2048,
            KeySize::Rsa3072 => 3072,
            KeySize::Rsa4096 => 4096,
        }
    }

    fn aws_lc(self) -> aws_lc_rs::rsa::KeySize {
        match self {
            KeySize::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
            KeySize::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
            KeySize::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
        }
    }
}

/// Configures a [`ChainguardClient`]. Does no I/O.
///
/// Credentials come only from where the caller says: [`with_token_source`](Self::with_token_source),
/// the environment given to [`from_env_with`](Self::from_env_with), chainctl's login after
/// [`with_chainctl_cache`](Self::with_chainctl_cache), or the process environment and
/// chainctl's login through [`from_env`](Self::from_env). Without any, [`build`](Self::build)
/// refuses and says what to set.
///
/// ```
/// use chainguard_client::{ChainguardClient, auth::StaticToken};
/// let client = ChainguardClient::builder()
///     .with_api_url("http://127.0.0.1:8080".parse().unwrap())
///     .with_token_source(std::sync::Arc::new(StaticToken::new("t")))
///     .build()?;
/// # Ok::<(), pull_through_core::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ChainguardBuilder {
    api_url: Url,
    issuer_url: Url,
    tokens: Option<Arc<dyn TokenSource>>,
    chainctl: Option<ChainctlCache>,
    unset: Option<Unset>,
    retry: RetryConfig,
    observer: Option<Arc<dyn HttpObserver>>,
    binding_retry: Vec<Duration>,
    key_size: KeySize,
}

/// What an environment read by the builder lacked, so that `build` can name it.
#[derive(Debug, Clone)]
enum Unset {
    /// Neither `CHAINGUARD_TOKEN` nor `CHAINGUARD_IDENTITY`; `process` when the environment
    /// was the process's, whose chainctl login had no location either.
    Credentials { process: bool },
    /// `CHAINGUARD_IDENTITY` without its upstream token: what is missing.
    UpstreamToken(&'static str),
    /// No credentials in the process environment, and the hosts are not Chainguard's: its
    /// chainctl login is not sent elsewhere.
    LoginForOtherHosts,
}

impl Unset {
    fn problem(&self) -> String {
        match self {
            Unset::Credentials { process: false } => format!(
                "neither CHAINGUARD_TOKEN nor CHAINGUARD_IDENTITY is set in the environment \
                 given; set CHAINGUARD_TOKEN (a token from `chainctl auth token`), or \
                 CHAINGUARD_IDENTITY with {UPSTREAM_VARIABLES} (chainctl's login is read only \
                 after with_chainctl_cache)"
            ),
            Unset::Credentials { process: true } => format!(
                "neither CHAINGUARD_TOKEN nor CHAINGUARD_IDENTITY is set, and chainctl's login \
                 cannot be found (neither XDG_CACHE_HOME nor HOME is set); set \
                 CHAINGUARD_TOKEN (a token from `chainctl auth token`), or CHAINGUARD_IDENTITY \
                 with {UPSTREAM_VARIABLES}"
            ),
            Unset::LoginForOtherHosts => "neither CHAINGUARD_TOKEN nor CHAINGUARD_IDENTITY is \
                set, and CHAINGUARD_API_URL or CHAINGUARD_ISSUER_URL names another host than \
                Chainguard's; chainctl's login is sent only to Chainguard's own hosts, so set \
                CHAINGUARD_TOKEN to a token for that host"
                .to_owned(),
            Unset::UpstreamToken(missing) => format!(
                "CHAINGUARD_IDENTITY is set but {missing} in the environment given; set \
                 {UPSTREAM_VARIABLES} to the identity's upstream OIDC token"
            ),
        }
    }
}

/// Where an assumed identity's upstream token comes from, for messages.
const UPSTREAM_VARIABLES: &str = "one of CHAINGUARD_OIDC_TOKEN_FILE, CHAINGUARD_OIDC_TOKEN, or \
                                  ACTIONS_ID_TOKEN_REQUEST_URL with ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// Parses a URL read from `var`. A value that is refused is not echoed unless it is a plain
/// address (`scheme://host[:port]`): a token pasted in the wrong variable must not reach a
/// log.
fn base_url(var: &str, text: &str) -> Result<Url, Error> {
    pull_through_core::http::parse_base_url(var, text).map_err(Error::InvalidInput)
}

impl ChainguardBuilder {
    /// The platform API's URL (tests point it at a fake).
    ///
    /// ```
    /// let builder = chainguard_client::ChainguardClient::builder()
    ///     .with_api_url("http://127.0.0.1:8080".parse().unwrap());
    /// ```
    pub fn with_api_url(mut self, url: Url) -> Self {
        self.api_url = url;
        self
    }

    /// The STS's URL.
    ///
    /// ```
    /// let builder = chainguard_client::ChainguardClient::builder()
    ///     .with_issuer_url("http://127.0.0.1:8081".parse().unwrap());
    /// ```
    pub fn with_issuer_url(mut self, url: Url) -> Self {
        self.issuer_url = url;
        self
    }

    /// Where tokens come from (cached per audience by the client).
    ///
    /// ```
    /// use chainguard_client::auth::StaticToken;
    /// let builder = chainguard_client::ChainguardClient::builder()
    ///     .with_token_source(std::sync::Arc::new(StaticToken::new("eyJ...")));
    /// ```
    pub fn with_token_source(mut self, tokens: Arc<dyn TokenSource>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The HTTP retry policy.
    ///
    /// ```
    /// let builder = chainguard_client::ChainguardClient::builder()
    ///     .with_retry(pull_through_core::http::RetryConfig::none());
    /// ```
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// An observer of every request. Set it before [`from_env`](Self::from_env) so the
    /// token exchanges that method sets up are observed too.
    ///
    /// ```
    /// let builder = chainguard_client::ChainguardClient::builder()
    ///     .with_observer(std::sync::Arc::new(pull_through_core::http::RecordingObserver::new()));
    /// ```
    pub fn with_observer(mut self, observer: Arc<dyn HttpObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The waits between attempts to bind a role to a just-created identity, which the
    /// API may refuse with PermissionDenied until the identity has propagated (default
    /// 2, 4, 8 and 16 seconds, as Chainguard's Terraform provider does).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = chainguard_client::ChainguardClient::builder()
    ///     .with_binding_retry(vec![Duration::from_millis(10); 3]);
    /// ```
    pub fn with_binding_retry(mut self, waits: Vec<Duration>) -> Self {
        self.binding_retry = waits;
        self
    }

    /// The size of the keys pull tokens are signed with (default [`KeySize::Rsa4096`], as
    /// chainctl; tests choose [`KeySize::Rsa2048`] for speed).
    ///
    /// ```
    /// use chainguard_client::KeySize;
    /// let builder = chainguard_client::ChainguardClient::builder()
    ///     .with_key_size(KeySize::Rsa2048);
    /// ```
    pub fn with_key_size(mut self, size: KeySize) -> Self {
        self.key_size = size;
        self
    }

    /// Reads the process environment: `CHAINGUARD_API_URL` and `CHAINGUARD_ISSUER_URL`
    /// (defaults the real hosts), then the first credentials found of: `CHAINGUARD_TOKEN`
    /// (exchanged at the STS when another audience is asked for); `CHAINGUARD_IDENTITY`
    /// with `CHAINGUARD_OIDC_TOKEN_FILE`, `CHAINGUARD_OIDC_TOKEN` or GitHub Actions'
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN` (read when a token is needed); and,
    /// failing those, chainctl's login in its default location
    /// ([`ChainctlCache::default_location`], as if
    /// [`with_chainctl_cache`](Self::with_chainctl_cache) had been called), but only when
    /// both URLs are Chainguard's own: that login is never sent to another host.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming a variable whose value is not a usable URL (the value
    /// is shown only as `scheme://host`, and not at all when it may hold a secret).
    ///
    /// ```
    /// let builder = chainguard_client::ChainguardClient::builder().from_env()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn from_env(self) -> Result<Self, Error> {
        let mut builder = self.read_env(|var| std::env::var(var).ok(), true)?;
        // The login chainctl keeps is for Chainguard's hosts: a shell left pointing at a
        // sandbox or another service must not receive it.
        let real_hosts = builder.api_url.as_str().trim_end_matches('/') == DEFAULT_API_URL
            && builder.issuer_url.as_str().trim_end_matches('/') == DEFAULT_ISSUER_URL;
        if builder.chainctl.is_none() && real_hosts {
            builder.chainctl = ChainctlCache::default_location();
        } else if builder.chainctl.is_none()
            && matches!(builder.unset, Some(Unset::Credentials { process: true }))
        {
            builder.unset = Some(Unset::LoginForOtherHosts);
        }
        Ok(builder)
    }

    /// Reads the variables of [`from_env`](Self::from_env) through `lookup` alone: for a
    /// program that runs against an embedded sandbox, or reads its settings from a file.
    ///
    /// The environment given is closed: nothing is read from the process environment
    /// (`CHAINGUARD_OIDC_TOKEN` and GitHub Actions' `ACTIONS_ID_TOKEN_REQUEST_URL` and
    /// `_TOKEN` come from `lookup` too), and chainctl's login is not a fall-back unless
    /// [`with_chainctl_cache`](Self::with_chainctl_cache) asks for it. Without credentials
    /// in `lookup`, [`build`](Self::build) refuses and names the variables to set, rather
    /// than reach a real organization with the user's own login. Empty values count as
    /// unset, and unset variables leave what was set before; the hosts default to the real
    /// ones, where only credentials from `lookup` can go.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming a variable whose value is not a usable URL (the value
    /// is shown only as `scheme://host`, and not at all when it may hold a secret).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let vars = HashMap::from([
    ///     ("CHAINGUARD_API_URL", "http://127.0.0.1:8080"),
    ///     ("CHAINGUARD_ISSUER_URL", "http://127.0.0.1:8081"),
    ///     ("CHAINGUARD_TOKEN", "console-token"),
    /// ]);
    /// let client = chainguard_client::ChainguardClient::builder()
    ///     .from_env_with(|var| vars.get(var).map(|v| v.to_string()))?
    ///     .build()?;
    ///
    /// // Nothing in the environment given: no client, whatever the process environment holds.
    /// let err = chainguard_client::ChainguardClient::builder()
    ///     .from_env_with(|_| None)?
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("neither CHAINGUARD_TOKEN nor CHAINGUARD_IDENTITY is set"));
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn from_env_with(self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        self.read_env(lookup, false)
    }

    /// Falls back on chainctl's login, read from `cache`, when no other credentials were
    /// given (neither [`with_token_source`](Self::with_token_source) nor credentials in the
    /// environment read). [`ChainctlCache::default_location`] is the user's own login, and
    /// [`ChainctlCache::default_location_with`] finds it through a given environment.
    ///
    /// ```
    /// use chainguard_client::{ChainguardClient, auth::ChainctlCache};
    /// let client = ChainguardClient::builder()
    ///     .from_env_with(|_| None)?
    ///     .with_chainctl_cache(ChainctlCache::new("/home/me/.cache/chainguard"))
    ///     .build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn with_chainctl_cache(mut self, cache: ChainctlCache) -> Self {
        self.chainctl = Some(cache);
        self
    }

    /// The reading behind [`from_env`](Self::from_env) (`process`: the environment is the
    /// process's, whose upstream tokens are read when needed) and
    /// [`from_env_with`](Self::from_env_with) (closed: everything read now, from `lookup`).
    fn read_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
        process: bool,
    ) -> Result<Self, Error> {
        let env = |var: &str| lookup(var).filter(|v| !v.is_empty());
        if let Some(api) = env("CHAINGUARD_API_URL") {
            self.api_url = base_url("CHAINGUARD_API_URL", &api)?;
        }
        if let Some(issuer) = env("CHAINGUARD_ISSUER_URL") {
            self.issuer_url = base_url("CHAINGUARD_ISSUER_URL", &issuer)?;
        }
        if let Some(token) = env("CHAINGUARD_TOKEN") {
            // A console token; exchanged at the STS when another audience is asked for.
            self.tokens = Some(Arc::new(StaticToken::new(token).exchanging_with(
                Sts::observed(self.issuer_url.clone(), self.observer.clone())?,
            )));
            self.unset = None;
            return Ok(self);
        }
        let Some(identity) = env("CHAINGUARD_IDENTITY") else {
            self.unset = Some(Unset::Credentials { process });
            return Ok(self);
        };
        let audience = "issuer.enforce.dev".to_owned();
        let upstream = if let Some(path) = env("CHAINGUARD_OIDC_TOKEN_FILE") {
            UpstreamToken::File(path.into())
        } else if process {
            if env("CHAINGUARD_OIDC_TOKEN").is_some() {
                UpstreamToken::Env("CHAINGUARD_OIDC_TOKEN".to_owned())
            } else {
                UpstreamToken::GitHubActions { audience }
            }
        } else if let Some(token) = env("CHAINGUARD_OIDC_TOKEN") {
            UpstreamToken::Value(token.into())
        } else {
            match (
                env("ACTIONS_ID_TOKEN_REQUEST_URL"),
                env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
            ) {
                (Some(request_url), Some(request_token)) => UpstreamToken::GitHubActionsWith {
                    audience,
                    request_url,
                    request_token: request_token.into(),
                },
                (url, token) => {
                    self.unset = Some(Unset::UpstreamToken(match (url, token) {
                        (Some(_), None) => {
                            "ACTIONS_ID_TOKEN_REQUEST_URL is set without \
                             ACTIONS_ID_TOKEN_REQUEST_TOKEN"
                        }
                        (None, Some(_)) => {
                            "ACTIONS_ID_TOKEN_REQUEST_TOKEN is set without \
                             ACTIONS_ID_TOKEN_REQUEST_URL"
                        }
                        _ => {
                            "none of CHAINGUARD_OIDC_TOKEN_FILE, CHAINGUARD_OIDC_TOKEN and \
                             ACTIONS_ID_TOKEN_REQUEST_URL is"
                        }
                    }));
                    return Ok(self);
                }
            }
        };
        self.tokens = Some(Arc::new(OidcExchange::new(
            Sts::observed(self.issuer_url.clone(), self.observer.clone())?,
            identity,
            upstream,
        )));
        self.unset = None;
        Ok(self)
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when no credentials were given (naming the variables to set
    /// once an environment was read) or a URL is unusable.
    ///
    /// ```
    /// use chainguard_client::{ChainguardClient, auth::StaticToken};
    /// let client = ChainguardClient::builder()
    ///     .with_token_source(std::sync::Arc::new(StaticToken::new("t")))
    ///     .build()?;
    /// let err = ChainguardClient::builder().build().unwrap_err();
    /// assert!(err.to_string().contains("call with_token_source"));
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn build(self) -> Result<ChainguardClient, Error> {
        let tokens = match (self.tokens, self.chainctl) {
            (Some(tokens), _) => tokens,
            (None, Some(cache)) => Arc::new(cache),
            (None, None) => {
                return Err(Error::InvalidInput(ValidationError::InvalidValue {
                    field: "Chainguard credentials".to_owned(),
                    problem: match &self.unset {
                        Some(unset) => unset.problem(),
                        None => "none were given; call with_token_source, from_env_with or \
                                 from_env (or with_chainctl_cache for chainctl's login)"
                            .to_owned(),
                    },
                }));
            }
        };
        let mut api = HttpClient::builder("chainguard", self.api_url)
            .user_agent(concat!("chainguard-client/", env!("CARGO_PKG_VERSION")))
            .error_envelope(Arc::new(crate::RpcStatus))
            .retry(self.retry.clone());
        if let Some(observer) = self.observer {
            api = api.observer(observer);
        }
        Ok(ChainguardClient {
            retry: self.retry,
            api: api.build()?,
            tokens: Arc::new(CachedTokens::new(tokens)),
            binding_retry: self.binding_retry,
            key_size: self.key_size,
            builtin_roles: Arc::default(),
        })
    }
}

/// The Chainguard platform API, as `chainctl` uses it.
///
/// ```
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let client = chainguard_client::ChainguardClient::builder().from_env()?.build()?;
/// for org in client.list_organizations().await? {
///     println!("{}  {}", org.id, org.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ChainguardClient {
    api: HttpClient,
    /// The HTTP retry policy, also the schedule of a create resent after its answer was
    /// lost and a read found nothing (`unanswered`).
    retry: RetryConfig,
    tokens: Arc<dyn TokenSource>,
    binding_retry: Vec<Duration>,
    key_size: KeySize,
    /// Built-in roles by name, looked up once per client: they are Chainguard's own and
    /// their ids never change, and a fleet making sixty pull tokens would otherwise read
    /// the same role sixty times.
    builtin_roles: Arc<RoleMemo>,
}

/// One cell per role name, so concurrent first lookups of one role send one request.
type RoleMemo =
    std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::OnceCell<Role>>>>;

/// One pull token as listed: the identity, without the JWT (it cannot be read back).
///
/// ```
/// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
/// let expired: Vec<_> = client.list_pull_tokens(org).await?.into_iter().filter(|t| t.expired).collect();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PullTokenInfo {
    /// The identity's UIDP.
    pub identity_id: String,
    /// The identity's name.
    pub name: String,
    /// The identity's description.
    pub description: String,
    /// When it expires (RFC 3339, as stored); empty when the identity has no expiration
    /// (unknown; `expired` is then false).
    pub expiration: String,
    /// Whether it has expired.
    pub expired: bool,
}

impl ChainguardClient {
    /// A builder with the real hosts and no credentials yet.
    ///
    /// ```
    /// let builder = chainguard_client::ChainguardClient::builder();
    /// ```
    pub fn builder() -> ChainguardBuilder {
        ChainguardBuilder {
            api_url: Url::parse(DEFAULT_API_URL).expect("a valid default"),
            issuer_url: Url::parse(DEFAULT_ISSUER_URL).expect("a valid default"),
            tokens: None,
            chainctl: None,
            unset: None,
            retry: RetryConfig::default(),
            observer: None,
            binding_retry: [2, 4, 8, 16].map(Duration::from_secs).to_vec(),
            key_size: KeySize::default(),
        }
    }

    /// A token for `audience` from the client's source (what `chainctl auth token
    /// --audience apk.cgr.dev` prints).
    ///
    /// # Errors
    ///
    /// The source's error.
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// let apk_token = client.token("apk.cgr.dev").await?;
    /// # Ok(()) }
    /// ```
    pub async fn token(&self, audience: &str) -> Result<SecretString, Error> {
        self.tokens.token(audience).await
    }

    async fn api_token(&self) -> Result<SecretString, Error> {
        self.token(CONSOLE_API_AUDIENCE).await
    }

    /// The organizations (root groups) the token can see.
    ///
    /// The v1 list answers an empty 200 when the token may not list groups, rather than
    /// an error: an empty result may mean "no permission".
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// for org in client.list_organizations().await? {
    ///     println!("{} {}", org.id, org.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_organizations(&self) -> Result<Vec<Group>, Error> {
        let token = self.api_token().await?;
        let answer: Items<Group> = self
            .api
            .get("iam/v1/groups")
            .query(&[("uidp.inRoot", "true")])
            .bearer_auth(&token)
            .send()
            .await?
            .json("group list")
            .await?;
        Ok(answer
            .items
            .into_iter()
            .filter(Group::is_organization)
            .collect())
    }

    /// The organization named `name`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when no organization or several have that name (the
    /// message lists their ids: pass the id instead).
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// let org = client.resolve_organization("example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn resolve_organization(&self, name: &str) -> Result<OrgId, Error> {
        let token = self.api_token().await?;
        let answer: Items<Group> = self
            .api
            .get("iam/v1/groups")
            .query(&[("name", name)])
            .bearer_auth(&token)
            .send()
            .await?
            .json("group list")
            .await?;
        let orgs: Vec<Group> = answer
            .items
            .into_iter()
            .filter(Group::is_organization)
            .collect();
        let problem = match orgs.as_slice() {
            [only] => return Ok(OrgId::new(only.id.clone())?),
            [] => format!(
                "no organization named {name:?} is visible to this token (the API answers an \
                 empty list, not an error, when the token lacks groups.list)"
            ),
            many => format!(
                "{} organizations are named {name:?}: {}; give the id instead",
                many.len(),
                many.iter()
                    .map(|g| g.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Err(Error::InvalidInput(ValidationError::InvalidValue {
            field: "organization".to_owned(),
            problem,
        }))
    }

    /// The built-in role named `name` (`registry.pull`, `apk.pull`, `viewer`). A custom
    /// role of the same name is never picked in its place.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when there is no built-in role of that name.
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// let role = client.find_builtin_role("apk.pull").await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_builtin_role(&self, name: &str) -> Result<Role, Error> {
        let cell = {
            let mut memo = self
                .builtin_roles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(memo.entry(name.to_owned()).or_default())
        };
        // A failed lookup leaves the cell empty, so the next call asks again.
        cell.get_or_try_init(|| self.lookup_builtin_role(name))
            .await
            .cloned()
    }

    async fn lookup_builtin_role(&self, name: &str) -> Result<Role, Error> {
        let roles = self.list_roles(Some(name)).await?;
        let customs: Vec<String> = roles
            .iter()
            .filter(|r| !r.is_built_in())
            .map(|r| r.id.clone())
            .collect();
        roles.into_iter().find(Role::is_built_in).ok_or_else(|| {
            Error::InvalidInput(ValidationError::InvalidValue {
                field: "role".to_owned(),
                problem: if customs.is_empty() {
                    format!("there is no built-in role named {name:?}")
                } else {
                    format!(
                        "there is no built-in role named {name:?}, only custom roles ({}); \
                         refusing to pick a custom role by name",
                        customs.join(", ")
                    )
                },
            })
        })
    }

    /// Every role the token can see, or those named `name`.
    ///
    /// An empty list can also mean the token may not see any: Chainguard's v1 API answers
    /// an empty `200` rather than a denial. Check with
    /// [`ChainguardClient::require_capability`] when empty is surprising.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// let roles = client.list_roles(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_roles(&self, name: Option<&str>) -> Result<Vec<Role>, Error> {
        let token = self.api_token().await?;
        let mut request = self.api.get("iam/v1/roles").bearer_auth(&token);
        if let Some(name) = name {
            request = request.query(&[("name", name)]);
        }
        let answer: Items<Role> = request.send().await?.json("role list").await?;
        Ok(answer.items)
    }

    /// Binds `role_id` to an existing `identity` in group `parent`. A PermissionDenied is
    /// final here: the caller lacks `role_bindings.create`.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// let apk_pull = client.find_builtin_role("apk.pull").await?;
    /// let binding = client.create_role_binding(org.as_str(), "ORG/identity", &apk_pull.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_role_binding(
        &self,
        parent: &str,
        identity: &str,
        role_id: &str,
    ) -> Result<RoleBinding, Error> {
        self.bind(parent, identity, role_id, &[]).await
    }

    /// Binds `role_id` to an identity created moments ago, retrying on PermissionDenied
    /// with the builder's schedule ([`ChainguardBuilder::with_binding_retry`]): a new
    /// identity takes a moment to propagate, and Chainguard denies the binding until then.
    ///
    /// # Errors
    ///
    /// The core's [`Error`] once the retries are spent.
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// let apk_pull = client.find_builtin_role("apk.pull").await?;
    /// let binding = client.create_role_binding_for_new_identity(org.as_str(), "ORG/identity", &apk_pull.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_role_binding_for_new_identity(
        &self,
        parent: &str,
        identity: &str,
        role_id: &str,
    ) -> Result<RoleBinding, Error> {
        self.bind(parent, identity, role_id, &self.binding_retry)
            .await
    }

    async fn bind(
        &self,
        parent: &str,
        identity: &str,
        role_id: &str,
        retry: &[Duration],
    ) -> Result<RoleBinding, Error> {
        let body = RoleBindingRequest {
            identity: identity.to_owned(),
            role: role_id.to_owned(),
        };
        let mut waits = retry.iter();
        let mut resends = self.retry.schedule();
        loop {
            let token = self.api_token().await?;
            let result = self
                .api
                .post(&format!("iam/v1/rolebindings/{parent}"))
                .bearer_auth(&token)
                .json(&body)
                .at_most_once()
                .send()
                .await;
            match result {
                Ok(answer) => return answer.json("role binding").await,
                // Sent again blindly, a create whose answer was lost binds the role twice.
                Err(err) if pull_through_core::http::may_have_been_processed(&err) => {
                    if let Some(made) = self.existing_binding(parent, &body).await? {
                        return Ok(made);
                    }
                    match resends.next_wait() {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => return Err(err),
                    }
                }
                Err(Error::PermissionDenied(denied)) => match waits.next() {
                    Some(wait) => {
                        tracing::debug!(
                            wait_ms = wait.as_millis() as u64,
                            "role binding denied; retrying"
                        );
                        tokio::time::sleep(*wait).await;
                    }
                    None => return Err(Error::PermissionDenied(denied)),
                },
                Err(other) => return Err(other),
            }
        }
    }

    /// Deletes a role binding.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_role_binding("ORG/binding").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_role_binding(&self, id: &str) -> Result<Deleted, Error> {
        check_child_id("role binding id", id)?;
        self.delete(&format!("iam/v1/rolebindings/{id}")).await
    }

    async fn delete(&self, path: &str) -> Result<Deleted, Error> {
        let token = self.api_token().await?;
        match self.api.delete(path).bearer_auth(&token).send().await {
            Ok(_) => Ok(Deleted::Removed),
            Err(err) if err.is_not_found() => Ok(Deleted::AlreadyAbsent),
            Err(err) => Err(err),
        }
    }

    /// Creates a pull token, as `chainctl auth pull-token --parent ORG` does: a static
    /// identity with a fresh key's JWKS, the role bound to it, and a JWT signed with the
    /// key, which is then dropped. If the binding cannot be made, the identity is deleted
    /// again: nothing is left half made.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for bad options (before any request), or the core's
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// use chainguard_client::PullTokenOptions;
    /// use pull_through_core::PullTokenRole;
    /// let token = client.create_pull_token(org, PullTokenOptions::new(PullTokenRole::ApkPull)).await?;
    /// let credentials = token.credentials()?;
    /// # Ok(()) }
    /// ```
    pub async fn create_pull_token(
        &self,
        org: &OrgId,
        options: PullTokenOptions,
    ) -> Result<PullToken, Error> {
        options.validate()?;
        // Started first, so the key is made while the role is looked up. An RSA-4096 key
        // takes a processor about half a second: on the blocking pool it runs on every
        // core at once when a fleet makes many tokens, and never stalls the tasks that
        // are only waiting for the network.
        let key = tokio::task::spawn_blocking({
            let size = self.key_size.aws_lc();
            move || Signer::generate(size)
        });
        let role = match self.find_builtin_role(options.role.as_str()).await {
            Ok(role) => role,
            Err(err) => {
                // Not needed after all: a key not yet begun is not made.
                key.abort();
                return Err(err);
            }
        };
        let signer = key.await.map_err(|err| Error::Unsupported {
            vendor: "chainguard".to_owned(),
            what: format!("generating the pull token's key: {err}"),
            hint: "try again; report it if it recurs".to_owned(),
        })??;
        let subject = new_subject()?;
        let issued = SystemTime::now();
        let expires = issued + options.ttl;
        let identity = Identity {
            id: String::new(),
            name: options.name.clone(),
            description: options.description.clone(),
            static_keys: Some(StaticKeys {
                issuer: crate::model::PULL_TOKEN_ISSUER.to_owned(),
                subject: subject.clone(),
                issuer_keys: signer.jwks(),
                expiration: humantime::format_rfc3339_seconds(expires).to_string(),
            }),
        };
        let created = self.create_static_identity(org, &identity).await?;
        if let Err(err) = self
            .create_role_binding_for_new_identity(org.as_str(), &created.id, &role.id)
            .await
        {
            // Best effort: the binding error is what the caller needs to see.
            let _ = self
                .delete(&format!("iam/v1/identities/{}", created.id))
                .await;
            return Err(err);
        }
        Ok(PullToken {
            identity_id: created.id,
            token: signer.sign(&subject, issued, expires)?,
            expires_at: expires,
            role: options.role,
        })
    }

    /// The pull tokens of an organization (static identities with the pull-token issuer).
    ///
    /// An identity whose `issuerKeys` is missing or `null` is listed like the others (no
    /// token of it can authenticate, but it can be seen and revoked). One whose
    /// `expiration` is missing or `null` is listed with an empty
    /// [`PullTokenInfo::expiration`] (unknown) and `expired: false`, so `status` still shows
    /// it and it can be revoked.
    ///
    /// An empty list can also mean the token may not see any: Chainguard's v1 API answers
    /// an empty `200` rather than a denial. Check with
    /// [`ChainguardClient::require_capability`] when empty is surprising.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// for token in client.list_pull_tokens(org).await? {
    ///     println!("{} expires {}", token.identity_id, token.expiration);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_pull_tokens(&self, org: &OrgId) -> Result<Vec<PullTokenInfo>, Error> {
        let token = self.api_token().await?;
        let answer: Items<Identity> = self
            .api
            .get("iam/v1/identities")
            .query(&[("uidp.descendantsOf", org.as_str())])
            .bearer_auth(&token)
            .send()
            .await?
            .json("identity list")
            .await?;
        let now = SystemTime::now();
        Ok(answer
            .items
            .into_iter()
            // An identity whose keys are missing is still listed: no token of it can
            // authenticate, but it is ours to show and to revoke (a tool that tags its
            // tokens would otherwise never clean it up).
            .filter(Identity::is_pull_token)
            .map(|identity| {
                let expiration = identity
                    .static_keys
                    .as_ref()
                    .map(|keys| keys.expiration.clone())
                    .unwrap_or_default();
                let expired = humantime::parse_rfc3339_weak(&expiration)
                    .map(|at| at <= now)
                    .unwrap_or(false);
                PullTokenInfo {
                    identity_id: identity.id,
                    name: identity.name,
                    description: identity.description,
                    expiration,
                    expired,
                }
            })
            .collect())
    }

    /// Revokes a pull token by deleting its identity.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// client.revoke_pull_token("ORG/identity").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_pull_token(&self, identity_id: &str) -> Result<Deleted, Error> {
        check_child_id("identity id", identity_id)?;
        self.delete(&format!("iam/v1/identities/{identity_id}"))
            .await
    }

    /// Deletes an organization's expired pull tokens (Chainguard keeps them); returns the
    /// identities deleted.
    ///
    /// # Errors
    ///
    /// The core's [`Error`]; tokens deleted before it remain deleted.
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// let pruned = client.prune_expired_pull_tokens(org).await?;
    /// # Ok(()) }
    /// ```
    pub async fn prune_expired_pull_tokens(&self, org: &OrgId) -> Result<Vec<String>, Error> {
        let mut pruned = Vec::new();
        for token in self
            .list_pull_tokens(org)
            .await?
            .into_iter()
            .filter(|t| t.expired)
        {
            self.revoke_pull_token(&token.identity_id).await?;
            pruned.push(token.identity_id);
        }
        Ok(pruned)
    }

    /// Who the token belongs to and what it may do, as minted into it (`GET /auth/v1/ok`).
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient) -> Result<(), pull_through_core::Error> {
    /// let me = client.status().await?;
    /// println!("{}", me.subject);
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<WhoAmI, Error> {
        let token = self.api_token().await?;
        self.api
            .get("auth/v1/ok")
            .bearer_auth(&token)
            .send()
            .await?
            .json("auth status")
            .await
    }

    /// Checks, before a flow starts, that the token holds `capability` in `org`.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] saying which role to bind and that a new token must be
    /// minted afterwards.
    ///
    /// ```no_run
    /// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// client.require_capability(org, "identity.create").await?;
    /// # Ok(()) }
    /// ```
    pub async fn require_capability(&self, org: &OrgId, capability: &str) -> Result<(), Error> {
        let me = self.status().await?;
        if me.capabilities_in(org.as_str()).contains(&capability) {
            return Ok(());
        }
        let role = match capability {
            "apk.list" | "apk.blobs.get" => "apk.pull",
            "repo.blobs.get" | "repo.list" | "manifest.list" | "tag.list" => "registry.pull",
            "identity.create" | "role_bindings.create" => "registry.pull_token_creator (or owner)",
            _ => "a role that grants it (see chainctl iam roles list --managed)",
        };
        let mut api = pull_through_core::ApiError::new(
            "chainguard",
            http::Method::GET,
            format!("{}/auth/v1/ok", self.api.base_url()),
            http::StatusCode::FORBIDDEN,
            format!("the token has no {capability} capability in organization {org}"),
        );
        api.fix = Some(format!(
            "bind {role} to {} in {org} (chainctl iam role-bindings create --parent={org} \
             --identity={} --role=...), then mint a new token: capabilities are fixed when a \
             token is minted",
            me.subject, me.subject
        ));
        Err(Error::PermissionDenied(Box::new(api)))
    }
}

#[cfg(test)]
mod tests {
    use super::KeySize;

    #[test]
    fn key_sizes_map_to_the_same_aws_lc_sizes() {
        for (ours, theirs) in [
            (KeySize::Rsa2048, aws_lc_rs::rsa::KeySize::Rsa2048),
            (KeySize::Rsa3072, aws_lc_rs::rsa::KeySize::Rsa3072),
            (KeySize::Rsa4096, aws_lc_rs::rsa::KeySize::Rsa4096),
        ] {
            assert_eq!(ours.aws_lc(), theirs);
            assert_eq!(ours.bits() as usize, theirs.len() * 8);
        }
    }
}

/// Whether `text` has the shape of a Chainguard id below an organization (an identity's or
/// a role binding's): the organization's 40 hex digits, then one `/` and 16 hex digits per
/// level (`<40 hex>/<16 hex>` for a pull token's identity). A JWT, a token or a name does
/// not fit, so it never goes into a URL path.
///
/// ```
/// use chainguard_client::is_child_id;
/// assert!(is_child_id("0123456789abcdef0123456789abcdef01234567/0123456789abcdef"));
/// assert!(!is_child_id("0123456789abcdef0123456789abcdef01234567"));
/// assert!(!is_child_id("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
/// assert!(!is_child_id("0123456789abcdef0123456789abcdef01234567/../groups"));
/// ```
pub fn is_child_id(text: &str) -> bool {
    let hex = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let mut parts = text.split('/');
    parts.next().is_some_and(|root| hex(root, 40))
        && text.contains('/')
        && parts.all(|child| hex(child, 16))
}

/// Refuses, before any request, an id that does not have the shape of one, without echoing
/// it: what does not fit may be a token pasted in its place.
fn check_child_id(what: &str, text: &str) -> Result<(), Error> {
    if is_child_id(text) {
        return Ok(());
    }
    Err(Error::InvalidInput(ValidationError::InvalidValue {
        field: what.to_owned(),
        problem: format!(
            "the value ({} characters, not shown) is not an {what}: the organization's 40 hex \
             digits, `/`, then 16 hex digits per level",
            text.chars().count()
        ),
    }))
}

#[cfg(test)]
mod id_shape_tests {
    use super::*;

    #[test]
    fn child_ids_and_tokens_tell_apart() {
        let org = "0123456789abcdef0123456789abcdef01234567";
        for id in [
            format!("{org}/0123456789abcdef"),
            format!("{org}/0123456789abcdef/fedcba9876543210"),
        ] {
            assert!(is_child_id(&id), "{id}");
        }
        for bad in [
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".to_owned(),
            org.to_owned(),
            format!("{org}/"),
            format!("{org}/0123"),
            format!("{org}/0123456789ABCDEF"),
            format!("{org}/0123456789abcdef/"),
            format!("/{org}/0123456789abcdef"),
            String::new(),
        ] {
            assert!(!is_child_id(&bad), "{bad}");
        }
    }
}
