//! How a config's `[backends.NAME]` tables become backends without this crate knowing any
//! vendor: each vendor crate implements [`BackendFactory`] for its `type`, reading and
//! checking its own fields from a [`BackendTable`] with the same `file:line: field:`
//! messages as the rest of the config; a program registers the factories it links in
//! [`Factories`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use pull_through_core::http::HttpObserver;
use pull_through_core::{ClientLogin, OrgName, PullThroughBackend, SecretString};

use crate::config::ConfigError;
use crate::env::Environment;

/// One field of a backend table: its value and the line it is on. `Debug` shows the
/// value's type, not the value: a URL field may carry credentials until it is refused.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct TableField {
    /// The value as TOML read it.
    pub value: toml::Value,
    /// 1-based.
    pub line: usize,
}

impl fmt::Debug for TableField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableField")
            .field("value", &self.value.type_str())
            .field("line", &self.line)
            .finish()
    }
}

/// A `[backends.NAME]` table: its vendor fields, each with its line, and the means to
/// report a problem at the right place.
///
/// ```
/// use pull_through_fleet::BackendTable;
/// let table = BackendTable::new("seeds.toml", "art", "artifactory", 5)
///     .with_field("token_env", "ARTIFACTORY_ACCESS_TOKEN", 7);
/// assert_eq!(table.variable("token_env")?.as_deref(), Some("ARTIFACTORY_ACCESS_TOKEN"));
/// let err = table.error("url", "missing");
/// assert_eq!(err.to_string(), "seeds.toml:5: backends.art.url: missing");
/// # Ok::<(), pull_through_fleet::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BackendTable {
    /// The file, as the user named it.
    pub file: String,
    /// The backend's name (`NAME` in `[backends.NAME]`).
    pub name: String,
    /// Its `type`.
    pub kind: String,
    /// Where `[backends.NAME]` is.
    pub line: usize,
    /// Every field but `type`.
    pub fields: BTreeMap<String, TableField>,
}

/// A value given in the file or named by an environment variable.
///
/// ```
/// use pull_through_fleet::{Environment, Setting};
/// let url = Setting::Env("ARTIFACTORY_URL".into());
/// let env = Environment::fixed([("ARTIFACTORY_URL", "https://example.jfrog.io")]);
/// assert_eq!(url.read(&env).as_deref(), Some("https://example.jfrog.io"));
/// assert_eq!(Setting::Literal("x".into()).read(&env).as_deref(), Some("x"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// Written in the file.
    Literal(String),
    /// Read from this variable.
    Env(String),
}

impl Setting {
    /// The value, if the variable is set.
    ///
    /// ```
    /// # use pull_through_fleet::{Environment, Setting};
    /// assert_eq!(Setting::Env("UNSET".into()).read(&Environment::fixed::<&str, &str>([])), None);
    /// ```
    pub fn read(&self, env: &Environment) -> Option<String> {
        match self {
            Setting::Literal(value) => Some(value.clone()),
            Setting::Env(var) => env.get(var),
        }
    }
}

impl BackendTable {
    /// A table with no vendor fields yet.
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4);
    /// assert!(table.fields.is_empty());
    /// ```
    pub fn new(
        file: impl Into<String>,
        name: impl Into<String>,
        kind: impl Into<String>,
        line: usize,
    ) -> BackendTable {
        BackendTable {
            file: file.into(),
            name: name.into(),
            kind: kind.into(),
            line,
            fields: BTreeMap::new(),
        }
    }

    /// Adds a field (for tables built in code rather than read from a file).
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4).with_field("url", "https://h", 5);
    /// assert_eq!(table.fields["url"].line, 5);
    /// ```
    pub fn with_field(
        mut self,
        field: impl Into<String>,
        value: impl Into<toml::Value>,
        line: usize,
    ) -> BackendTable {
        self.fields.insert(
            field.into(),
            TableField {
                value: value.into(),
                line,
            },
        );
        self
    }

    /// `backends.NAME.field`.
    fn path(&self, field: &str) -> String {
        format!("backends.{}.{field}", self.name)
    }

    /// A problem with `field`, at its line (the table's when the field is absent).
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4);
    /// assert_eq!(table.error("token_env", "missing").line, 4);
    /// ```
    pub fn error(&self, field: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.fields.get(field).map_or(self.line, |f| f.line),
            field: self.path(field),
            problem: problem.into(),
        }
    }

    /// A problem with the table as a whole (a field missing), at `[backends.NAME]`.
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4);
    /// assert_eq!(table.table_error("missing url").to_string(), "f.toml:4: backends.art: missing url");
    /// ```
    pub fn table_error(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.line,
            field: format!("backends.{}", self.name),
            problem: problem.into(),
        }
    }

    /// A variable the table names is not set: reported at `[backends.NAME]`, where a
    /// person looks for the backend's settings, with what to export.
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4).with_field("token_env", "TOKEN", 6);
    /// assert_eq!(
    ///     table.unset("token_env", "TOKEN", "an admin access token").to_string(),
    ///     "f.toml:4: backends.art.token_env: TOKEN is not set; export it with an admin access token"
    /// );
    /// ```
    pub fn unset(&self, field: &str, var: &str, what: &str) -> ConfigError {
        self.at_table(field, format!("{var} is not set; export it with {what}"))
    }

    /// The value of `setting` in `env`, or, when it names a variable that is not set, the
    /// [`unset`](Self::unset) error at `env_field` saying to export `what`: the read every
    /// factory's `connect` makes of its required settings.
    ///
    /// ```
    /// # use pull_through_fleet::{BackendTable, Environment, Setting};
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4);
    /// let env = Environment::fixed([("ARTIFACTORY_URL", "https://example.jfrog.io")]);
    /// let url = Setting::Env("ARTIFACTORY_URL".into());
    /// assert_eq!(table.require(&url, &env, "url_env", "the URL")?, "https://example.jfrog.io");
    /// let token = Setting::Env("TOKEN".into());
    /// assert_eq!(
    ///     table.require(&token, &env, "token_env", "an admin access token").unwrap_err().to_string(),
    ///     "f.toml:4: backends.art.token_env: TOKEN is not set; export it with an admin access token"
    /// );
    /// # Ok::<(), pull_through_fleet::ConfigError>(())
    /// ```
    pub fn require(
        &self,
        setting: &Setting,
        env: &Environment,
        env_field: &str,
        what: &str,
    ) -> Result<String, ConfigError> {
        match setting {
            Setting::Literal(value) => Ok(value.clone()),
            Setting::Env(var) => env.get(var).ok_or_else(|| self.unset(env_field, var, what)),
        }
    }

    /// A problem with `field` found while connecting (a value the client refuses), at
    /// `[backends.NAME]`: the value may have come from a variable, not the file.
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4).with_field("url_env", "ARTIFACTORY_URL", 5);
    /// assert_eq!(table.at_table("url_env", "not a URL").to_string(), "f.toml:4: backends.art.url_env: not a URL");
    /// ```
    pub fn at_table(&self, field: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.line,
            field: self.path(field),
            problem: problem.into(),
        }
    }

    /// A string field, if present.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the field is not a string.
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4).with_field("url", 5, 5);
    /// assert!(table.string("url").unwrap_err().problem.contains("expected a string"));
    /// ```
    pub fn string(&self, field: &str) -> Result<Option<String>, ConfigError> {
        match self.fields.get(field) {
            None => Ok(None),
            Some(TableField {
                value: toml::Value::String(text),
                ..
            }) => Ok(Some(text.clone())),
            Some(other) => Err(self.error(
                field,
                format!(
                    "invalid type: {}, expected a string",
                    other.value.type_str()
                ),
            )),
        }
    }

    /// An environment variable's name (never its value: secrets stay out of the file). A
    /// value that is not a variable name is refused without being echoed, since it may be
    /// the secret itself, pasted here.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a value that is not a string or not a variable name.
    ///
    /// ```
    /// # use pull_through_fleet::BackendTable;
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4).with_field("token_env", "eyJhbGciOi", 6);
    /// let err = table.variable("token_env").unwrap_err();
    /// assert!(!err.to_string().contains("eyJ"));
    /// ```
    pub fn variable(&self, field: &str) -> Result<Option<String>, ConfigError> {
        let Some(name) = self.string(field)? else {
            return Ok(None);
        };
        if is_variable_name(&name) {
            return Ok(Some(name));
        }
        Err(self.error(
            field,
            format!(
                "the value ({} characters, not shown) is not an environment variable name; \
                 give the variable's name (such as \"MY_BACKEND_TOKEN\"), never the \
                 secret itself, and rotate the secret if it was one",
                name.chars().count()
            ),
        ))
    }

    /// A value given either in the file (`field`) or by a variable (`env_field`), not
    /// both.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when both are given, or either is malformed.
    ///
    /// ```
    /// # use pull_through_fleet::{BackendTable, Setting};
    /// let table = BackendTable::new("f.toml", "art", "artifactory", 4).with_field("url_env", "ARTIFACTORY_URL", 5);
    /// assert_eq!(table.setting("url", "url_env")?, Some(Setting::Env("ARTIFACTORY_URL".into())));
    /// # Ok::<(), pull_through_fleet::ConfigError>(())
    /// ```
    pub fn setting(&self, field: &str, env_field: &str) -> Result<Option<Setting>, ConfigError> {
        match (self.string(field)?, self.variable(env_field)?) {
            (Some(_), Some(_)) => {
                Err(self.error(field, format!("give {field} or {env_field}, not both")))
            }
            (Some(value), None) => Ok(Some(Setting::Literal(value))),
            (None, Some(var)) => Ok(Some(Setting::Env(var))),
            (None, None) => Ok(None),
        }
    }
}

/// `[A-Z_][A-Z0-9_]*`.
pub(crate) fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// What a factory is given to build a backend.
#[derive(Clone)]
#[non_exhaustive]
pub struct ConnectContext<'a> {
    /// Where variables are read.
    pub env: &'a Environment,
    /// The Chainguard organization (client access names it in private image references).
    pub org: &'a OrgName,
    /// An observer of every request (a journal), if any.
    pub observer: Option<Arc<dyn HttpObserver>>,
}

impl fmt::Debug for ConnectContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectContext")
            .field("env", self.env)
            .field("org", self.org)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl<'a> ConnectContext<'a> {
    /// A context.
    ///
    /// ```
    /// # use pull_through_fleet::{ConnectContext, Environment};
    /// let env = Environment::Process;
    /// let org = "example.com".parse()?;
    /// let context = ConnectContext::new(&env, &org);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn new(env: &'a Environment, org: &'a OrgName) -> ConnectContext<'a> {
        ConnectContext {
            env,
            org,
            observer: None,
        }
    }

    /// With an observer of every request.
    ///
    /// ```
    /// # use pull_through_fleet::{ConnectContext, Environment};
    /// # let env = Environment::Process;
    /// # let org = "example.com".parse()?;
    /// let observer = std::sync::Arc::new(pull_through_core::http::RecordingObserver::new());
    /// let context = ConnectContext::new(&env, &org).with_observer(Some(observer));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_observer(mut self, observer: Option<Arc<dyn HttpObserver>>) -> ConnectContext<'a> {
        self.observer = observer;
        self
    }
}

/// A backend a factory built, with what the flows need around it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Connected {
    /// The backend.
    pub api: Arc<dyn PullThroughBackend>,
    /// The person's login, for client access.
    pub login: ClientLogin,
    /// Where it is, for people (`https://example.jfrog.io`).
    pub url: String,
    /// The variables client access names, with their values, for a secrets file.
    pub variables: Vec<(String, SecretString)>,
    /// The field that names the backend's credentials (`token_env`), for a refusal.
    pub credential_field: String,
    /// Where the credentials came from, for people (`ARTIFACTORY_ACCESS_TOKEN`, a key
    /// file's path): never the credentials themselves.
    pub credential_source: String,
    /// What to give instead when the credentials are refused.
    pub credential_hint: String,
}

impl Connected {
    /// A backend with the person's login; no variables, and a generic refusal hint.
    ///
    /// ```no_run
    /// # fn example(backend: std::sync::Arc<dyn pull_through_core::PullThroughBackend>) {
    /// use pull_through_core::ClientLogin;
    /// use pull_through_fleet::Connected;
    /// let connected = Connected::new(backend, ClientLogin::new("me", "token", "MY_TOKEN"), "https://h");
    /// # }
    /// ```
    pub fn new(
        api: Arc<dyn PullThroughBackend>,
        login: ClientLogin,
        url: impl Into<String>,
    ) -> Connected {
        Connected {
            api,
            login,
            url: url.into(),
            variables: Vec::new(),
            credential_field: "credentials".to_owned(),
            credential_source: "the credentials given".to_owned(),
            credential_hint: "give credentials that may administer repositories".to_owned(),
        }
    }

    /// The variables client access names, for a secrets file.
    ///
    /// ```no_run
    /// # fn example(connected: pull_through_fleet::Connected) {
    /// let connected = connected.with_variables(vec![("MY_TOKEN".into(), "t".into())]);
    /// # }
    /// ```
    pub fn with_variables(mut self, variables: Vec<(String, SecretString)>) -> Connected {
        self.variables = variables;
        self
    }

    /// Names the field that holds the credentials, where they came from (a variable's
    /// name), and what to give when they are refused.
    ///
    /// ```no_run
    /// # fn example(connected: pull_through_fleet::Connected) {
    /// let connected = connected.with_credentials_from(
    ///     "token_env",
    ///     "ARTIFACTORY_ACCESS_TOKEN",
    ///     "give an admin access token",
    /// );
    /// # }
    /// ```
    pub fn with_credentials_from(
        mut self,
        field: impl Into<String>,
        source: impl Into<String>,
        hint: impl Into<String>,
    ) -> Connected {
        self.credential_field = field.into();
        self.credential_source = source.into();
        self.credential_hint = hint.into();
        self
    }
}

/// Makes backends of one `type` from config tables. Vendor crates implement it next to
/// their client, so a vendor's fields are read and checked by code that knows them.
///
/// ```
/// use pull_through_fleet::{BackendFactory, BackendTable, ConfigError, ConnectContext, Connected};
///
/// /// A backend type with one field, `project`.
/// struct Example;
/// impl BackendFactory for Example {
///     fn kind(&self) -> &str { "example" }
///     fn fields(&self) -> &[&str] { &["project"] }
///     fn check(&self, table: &BackendTable) -> Result<(), ConfigError> {
///         table.string("project")?.map(drop).ok_or_else(|| table.table_error("missing project"))
///     }
///     fn connect(&self, table: &BackendTable, _: &ConnectContext<'_>) -> Result<Connected, ConfigError> {
///         Err(table.table_error("this example has no backend"))
///     }
/// }
/// let table = BackendTable::new("f.toml", "ex", "example", 3);
/// assert_eq!(Example.check(&table).unwrap_err().to_string(), "f.toml:3: backends.ex: missing project");
/// ```
pub trait BackendFactory: Send + Sync {
    /// The `type` it makes (`"artifactory"`).
    fn kind(&self) -> &str;

    /// The fields its tables may have besides `type`; any other is refused.
    fn fields(&self) -> &[&str];

    /// Checks a table's fields; no variable is read and no request is sent.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the field and what is allowed.
    fn check(&self, table: &BackendTable) -> Result<(), ConfigError>;

    /// Builds the backend, reading the variables its table names from `context.env`. No
    /// request is sent.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a variable that is not set, or a value the client refuses.
    fn connect(
        &self,
        table: &BackendTable,
        context: &ConnectContext<'_>,
    ) -> Result<Connected, ConfigError>;
}

/// The backend types a program knows, by `type`.
///
/// ```
/// use pull_through_fleet::Factories;
/// let factories = Factories::new();
/// assert!(factories.kinds().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Factories {
    by_kind: BTreeMap<String, Arc<dyn BackendFactory>>,
}

impl fmt::Debug for Factories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.by_kind.keys()).finish()
    }
}

impl Factories {
    /// No backend types yet.
    ///
    /// ```
    /// # use pull_through_fleet::Factories;
    /// assert!(Factories::new().get("artifactory").is_none());
    /// ```
    pub fn new() -> Factories {
        Factories::default()
    }

    /// Adds a backend type.
    ///
    /// ```no_run
    /// # fn example(artifactory: impl pull_through_fleet::BackendFactory + 'static) {
    /// let factories = pull_through_fleet::Factories::new().with(artifactory);
    /// # }
    /// ```
    pub fn with(mut self, factory: impl BackendFactory + 'static) -> Factories {
        self.by_kind
            .insert(factory.kind().to_owned(), Arc::new(factory));
        self
    }

    /// The factory of a type.
    ///
    /// ```
    /// # use pull_through_fleet::Factories;
    /// assert!(Factories::new().get("gar").is_none());
    /// ```
    pub fn get(&self, kind: &str) -> Option<&dyn BackendFactory> {
        self.by_kind.get(kind).map(|f| f.as_ref())
    }

    /// The types, sorted.
    ///
    /// ```
    /// # use pull_through_fleet::Factories;
    /// assert_eq!(Factories::new().kinds(), Vec::<&str>::new());
    /// ```
    pub fn kinds(&self) -> Vec<&str> {
        self.by_kind.keys().map(String::as_str).collect()
    }
}
