//! [`CloudsmithFactory`]: `[backends.NAME] type = "cloudsmith"` in a `pull-through-fleet`
//! config (feature `fleet`). Cloudsmith's own fields are read and checked here, next to the
//! client that uses them.
//!
//! | field | what | default |
//! |---|---|---|
//! | `owner` or `owner_env` | the workspace's slug, or the variable that holds it | `owner_env = "CLOUDSMITH_OWNER"` |
//! | `api_key_env` | the variable holding the API key | `"CLOUDSMITH_API_KEY"` |
//! | `user` or `user_env` | the user slug people `docker login` with | `CLOUDSMITH_USER` when set, else a placeholder |
//! | `api_url` or `api_url_env` | the API root | `CLOUDSMITH_API_URL` when set, else `https://api.cloudsmith.io/` |
//! | `docker_url` or `docker_url_env` | the Docker registry root | `CLOUDSMITH_DOCKER_URL` when set, else `https://docker.cloudsmith.io/` |
//! | `repository` | the one repository every cache is an upstream of (the seed's "same repository"); without it each cache is a repository of its own | none |
//! | `storage_region` | where repositories are created | `"default"` |

use pull_through_core::{ClientLogin, SecretString};
use pull_through_fleet::{
    BackendFactory, BackendTable, ConfigError, ConnectContext, Connected, Environment, Setting,
};

use crate::backend::CloudsmithBackend;
use crate::builder::{API_KEY_VAR, API_URL_VAR, DOCKER_URL_VAR, OWNER_VAR, USER_VAR};
use crate::client::CloudsmithClient;
use crate::layout::Layout;
use crate::rules::{IDENTIFIER_RULES, check_storage_region};

/// Makes [`CloudsmithBackend`]s from config tables.
///
/// ```
/// use cloudsmith_client::CloudsmithFactory;
/// use pull_through_fleet::{BackendFactory, BackendTable};
/// let table = BackendTable::new("seeds.toml", "cs", "cloudsmith", 4)
///     .with_field("owner", "acme", 5)
///     .with_field("repository", "Chainguard", 6);
/// let err = CloudsmithFactory.check(&table).unwrap_err();
/// assert!(err.to_string().starts_with("seeds.toml:6: backends.cs.repository: "), "{err}");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CloudsmithFactory;

/// A value the table sets, or the contract's variable when it sets none.
#[derive(Debug, Clone)]
enum Source {
    /// Given in the table: required.
    Given(Setting),
    /// The contract's variable, read when set.
    Default(&'static str),
}

impl Source {
    fn read(&self, env: &Environment) -> Option<String> {
        match self {
            Source::Given(setting) => setting.read(env),
            Source::Default(var) => env.get(var),
        }
    }

    fn variable(&self) -> Option<&str> {
        match self {
            Source::Given(Setting::Env(var)) => Some(var),
            Source::Default(var) => Some(var),
            _ => None,
        }
    }

    /// A problem with the value read: at `field` when the table gave it, else at
    /// `env_field`, naming the variable it came from.
    fn refused(
        &self,
        table: &BackendTable,
        field: &str,
        env_field: &str,
        problem: impl std::fmt::Display,
    ) -> ConfigError {
        match self.variable() {
            Some(var) => table.at_table(env_field, format!("{var}: {problem}")),
            None => table.error(field, problem.to_string()),
        }
    }
}

/// Checks a URL read from the table or a variable as the client will: an http(s) root
/// without credentials, and https unless it is loopback (the API key travels to it).
fn check_url(
    table: &BackendTable,
    source: &Source,
    (field, env_field): (&str, &str),
    text: &str,
) -> Result<(), ConfigError> {
    let url = pull_through_core::http::parse_base_url(field, text)
        .map_err(|err| source.refused(table, field, env_field, err))?;
    pull_through_core::http::check_credentials_transport(&url)
        .map_err(|err| source.refused(table, field, env_field, err))
}

/// A Cloudsmith table's fields, checked.
struct Fields {
    owner: Source,
    api_key_env: String,
    user: Source,
    api_url: Source,
    docker_url: Source,
    layout: Layout,
    storage_region: Option<String>,
}

fn url_setting(
    table: &BackendTable,
    field: &str,
    env_field: &str,
    default: &'static str,
) -> Result<Source, ConfigError> {
    match table.setting(field, env_field)? {
        Some(Setting::Literal(url)) => {
            let parsed = url::Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
            let Some(parsed) = parsed else {
                return Err(table.error(
                    field,
                    "the value is not an http(s) URL; give a root such as \
                     \"https://api.cloudsmith.io/\"",
                ));
            };
            // Not echoed: what sits in a URL's userinfo or query is usually a secret.
            if !parsed.username().is_empty()
                || parsed.password().is_some()
                || parsed.query().is_some()
            {
                return Err(table.error(
                    field,
                    "the URL carries credentials or a query; give only the address and put the \
                     API key in the variable api_key_env names (rotate it if it was one)",
                ));
            }
            Ok(Source::Given(Setting::Literal(url)))
        }
        Some(setting) => Ok(Source::Given(setting)),
        None => Ok(Source::Default(default)),
    }
}

fn slug_setting(
    table: &BackendTable,
    field: &str,
    env_field: &str,
    default: &'static str,
) -> Result<Source, ConfigError> {
    match table.setting(field, env_field)? {
        Some(Setting::Literal(slug)) => {
            IDENTIFIER_RULES
                .check(&slug)
                .map_err(|err| table.error(field, err.to_string()))?;
            Ok(Source::Given(Setting::Literal(slug)))
        }
        Some(setting) => Ok(Source::Given(setting)),
        None => Ok(Source::Default(default)),
    }
}

fn read(table: &BackendTable) -> Result<Fields, ConfigError> {
    let owner = slug_setting(table, "owner", "owner_env", OWNER_VAR)?;
    let api_key_env = table
        .variable("api_key_env")?
        .unwrap_or_else(|| API_KEY_VAR.to_owned());
    let user = slug_setting(table, "user", "user_env", USER_VAR)?;
    let api_url = url_setting(table, "api_url", "api_url_env", API_URL_VAR)?;
    let docker_url = url_setting(table, "docker_url", "docker_url_env", DOCKER_URL_VAR)?;
    let layout = match table.string("repository")? {
        Some(slug) => {
            Layout::shared(slug).map_err(|err| table.error("repository", err.to_string()))?
        }
        None => Layout::OwnRepository,
    };
    let storage_region = table.string("storage_region")?;
    if let Some(region) = &storage_region {
        check_storage_region(region)
            .map_err(|err| table.error("storage_region", err.to_string()))?;
    }
    Ok(Fields {
        owner,
        api_key_env,
        user,
        api_url,
        docker_url,
        layout,
        storage_region,
    })
}

impl BackendFactory for CloudsmithFactory {
    fn kind(&self) -> &str {
        "cloudsmith"
    }

    fn fields(&self) -> &[&str] {
        &[
            "owner",
            "owner_env",
            "api_key_env",
            "user",
            "user_env",
            "api_url",
            "api_url_env",
            "docker_url",
            "docker_url_env",
            "repository",
            "storage_region",
        ]
    }

    fn check(&self, table: &BackendTable) -> Result<(), ConfigError> {
        read(table).map(drop)
    }

    fn connect(
        &self,
        table: &BackendTable,
        context: &ConnectContext<'_>,
    ) -> Result<Connected, ConfigError> {
        let fields = read(table)?;
        let env = context.env;
        let owner = fields.owner.read(env).ok_or_else(|| {
            table.unset(
                "owner_env",
                fields.owner.variable().unwrap_or(OWNER_VAR),
                "the workspace's slug (the OWNER in docker.cloudsmith.io/OWNER/REPO)",
            )
        })?;
        let key = table.require(
            &Setting::Env(fields.api_key_env.clone()),
            env,
            "api_key_env",
            "a Cloudsmith API key (user settings > API Key, or a service account's)",
        )?;
        let required = |source: &Source, field: &str, what: &str| match source {
            Source::Given(setting) => table.require(setting, env, field, what).map(Some),
            other => Ok(other.read(env)),
        };
        let user = required(
            &fields.user,
            "user_env",
            "the user slug people docker login with",
        )?;
        let api_url = required(&fields.api_url, "api_url_env", "the API root")?;
        let docker_url = required(&fields.docker_url, "docker_url_env", "the registry root")?;
        // What the builder would refuse, refused here at the field it came from.
        IDENTIFIER_RULES
            .check(&owner)
            .map_err(|err| fields.owner.refused(table, "owner", "owner_env", err))?;
        if let Some(user) = &user {
            IDENTIFIER_RULES
                .check(user)
                .map_err(|err| fields.user.refused(table, "user", "user_env", err))?;
        }
        if let Some(url) = &api_url {
            check_url(table, &fields.api_url, ("api_url", "api_url_env"), url)?;
        }
        if let Some(url) = &docker_url {
            check_url(
                table,
                &fields.docker_url,
                ("docker_url", "docker_url_env"),
                url,
            )?;
        }

        let mut builder = CloudsmithClient::builder()
            .with_owner(owner.clone())
            .with_api_key_from(fields.api_key_env.clone(), key.clone());
        if let Some(user) = &user {
            builder = builder.with_user(user.clone());
        }
        if let Some(url) = &api_url {
            builder = builder.with_base_url(url.clone());
        }
        if let Some(url) = &docker_url {
            builder = builder.with_docker_url(url.clone());
        }
        if let Some(observer) = &context.observer {
            builder = builder.with_observer(observer.clone());
        }
        // Every value was checked above; what is left is the key, named by its variable.
        let client = builder
            .build()
            .map_err(|err| table.at_table("api_key_env", err.to_string()))?;
        let mut backend = CloudsmithBackend::new(client)
            .with_layout(fields.layout)
            .with_org(context.org.clone());
        if let Some(region) = fields.storage_region {
            backend = backend
                .with_storage_region(region)
                .map_err(|err| table.error("storage_region", err.to_string()))?;
        }
        let url = backend.client().api_url().to_string();

        let mut variables = Vec::new();
        for (source, value) in [
            (&fields.owner, Some(&owner)),
            (&fields.user, user.as_ref()),
            (&fields.api_url, api_url.as_ref()),
            (&fields.docker_url, docker_url.as_ref()),
        ] {
            if let (Some(var), Some(value)) = (source.variable(), value) {
                variables.push((var.to_owned(), SecretString::from(value.clone())));
            }
        }
        variables.push((fields.api_key_env.clone(), SecretString::from(key.clone())));
        let login = ClientLogin::new(
            user.unwrap_or_else(|| "<cloudsmith user slug>".to_owned()),
            key,
            fields.api_key_env.clone(),
        );
        Ok(Connected::new(std::sync::Arc::new(backend), login, url)
            .with_variables(variables)
            .with_credentials_from(
                "api_key_env",
                fields.api_key_env,
                "give a Cloudsmith API key of a user or service account that may manage \
                     the workspace's repositories",
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pull_through_core::{ExposeSecret, OrgName};

    fn table() -> BackendTable {
        BackendTable::new("seeds.toml", "cloudsmith", "cloudsmith", 10)
    }

    #[test]
    fn defaults_are_the_contract_variables() {
        let env = Environment::fixed([
            ("CLOUDSMITH_API_KEY", "the-key"),
            ("CLOUDSMITH_OWNER", "pull-through-sandbox"),
            ("CLOUDSMITH_USER", "sandbox-user"),
            ("CLOUDSMITH_API_URL", "http://127.0.0.1:9000/"),
            ("CLOUDSMITH_DOCKER_URL", "http://127.0.0.1:9001/"),
        ]);
        let org: OrgName = "example.com".parse().unwrap();
        let connected = CloudsmithFactory
            .connect(
                &table().with_field("repository", "chainguard", 11),
                &ConnectContext::new(&env, &org),
            )
            .unwrap();
        assert_eq!(connected.url, "http://127.0.0.1:9000/");
        assert_eq!(connected.login.username, "sandbox-user");
        assert_eq!(connected.login.password_var, "CLOUDSMITH_API_KEY");
        assert_eq!(connected.credential_source, "CLOUDSMITH_API_KEY");
        let names: Vec<&str> = connected
            .variables
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "CLOUDSMITH_OWNER",
                "CLOUDSMITH_USER",
                "CLOUDSMITH_API_URL",
                "CLOUDSMITH_DOCKER_URL",
                "CLOUDSMITH_API_KEY"
            ]
        );
        assert_eq!(connected.variables[4].1.expose_secret(), "the-key");
        assert!(!format!("{:?}", connected.api).contains("the-key"));
    }

    #[test]
    fn a_named_variable_that_is_unset_is_reported_at_the_table() {
        let env = Environment::fixed([("CLOUDSMITH_API_KEY", "k")]);
        let org: OrgName = "example.com".parse().unwrap();
        let err = CloudsmithFactory
            .connect(
                &table().with_field("owner_env", "MY_OWNER", 11),
                &ConnectContext::new(&env, &org),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "seeds.toml:10: backends.cloudsmith.owner_env: MY_OWNER is not set; export it with \
             the workspace's slug (the OWNER in docker.cloudsmith.io/OWNER/REPO)"
        );
        let err = CloudsmithFactory
            .connect(
                &table()
                    .with_field("owner", "acme", 11)
                    .with_field("user_env", "MY_USER", 12),
                &ConnectContext::new(&env, &org),
            )
            .unwrap_err();
        assert!(err.to_string().contains("MY_USER is not set"), "{err}");
    }

    #[test]
    fn values_the_client_refuses_are_reported_at_their_field() {
        let org: OrgName = "example.com".parse().unwrap();
        let base = [
            ("CLOUDSMITH_API_KEY", "k"),
            ("CLOUDSMITH_OWNER", "acme"),
            ("CLOUDSMITH_USER", "linky"),
        ];
        let env_with = |name: &'static str, value: &'static str| {
            Environment::fixed(
                base.iter()
                    .copied()
                    .filter(|(n, _)| *n != name)
                    .chain([(name, value)]),
            )
        };
        for (env, table, expected) in [
            (
                env_with("CLOUDSMITH_API_URL", "http://api.example.com/"),
                table(),
                "seeds.toml:10: backends.cloudsmith.api_url_env: CLOUDSMITH_API_URL: ",
            ),
            (
                env_with("CLOUDSMITH_USER", "linky slug"),
                table(),
                "seeds.toml:10: backends.cloudsmith.user_env: CLOUDSMITH_USER: ",
            ),
            (
                env_with("CLOUDSMITH_OWNER", "acme/team"),
                table(),
                "seeds.toml:10: backends.cloudsmith.owner_env: CLOUDSMITH_OWNER: ",
            ),
            (
                env_with("CLOUDSMITH_USER", "linky"),
                table().with_field("docker_url", "http://docker.example.com/", 12),
                "seeds.toml:12: backends.cloudsmith.docker_url: ",
            ),
        ] {
            let err = CloudsmithFactory
                .connect(&table, &ConnectContext::new(&env, &org))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(expected), "{expected} in {err}");
        }
    }

    #[test]
    fn fields_are_checked_without_reading_variables() {
        for (field, value, expected) in [
            (
                "owner",
                "acme/team",
                "backends.cloudsmith.owner: Cloudsmith slug",
            ),
            ("api_url", "ftp://x", "not an http(s) URL"),
            (
                "docker_url",
                "https://u:p@docker.example.com",
                "carries credentials",
            ),
            ("storage_region", "Dublin", "not a storage region slug"),
            (
                "api_key_env",
                "ck_live_abcdef",
                "not an environment variable name",
            ),
        ] {
            let err = CloudsmithFactory
                .check(&table().with_field(field, value, 12))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{field}: {err}");
            assert!(!err.contains("u:p@"), "{err}");
        }
        assert!(CloudsmithFactory.check(&table()).is_ok());
    }
}
