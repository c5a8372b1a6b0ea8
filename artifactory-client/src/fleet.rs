//! [`ArtifactoryFactory`]: `[backends.NAME] type = "artifactory"` in a `pull-through-fleet`
//! config (feature `fleet`). Artifactory's own fields are read and checked here, next to
//! the client that uses them.
//!
//! | field | what |
//! |---|---|
//! | `url` or `url_env` | the instance's URL, or the variable that holds it |
//! | `token_env` | the variable holding an admin access token |
//! | `user` or `user_env` | the user people log in as, for client access |
//! | `docker_access` | `"repository-path"` (default) or `"subdomain"` |

use pull_through_core::{ClientLogin, SecretString};
use pull_through_fleet::{
    BackendFactory, BackendTable, ConfigError, ConnectContext, Connected, Setting,
};

use crate::backend::{ArtifactoryBackend, DockerAccessMethod};
use crate::client::ArtifactoryClient;

/// Makes [`ArtifactoryBackend`]s from config tables.
///
/// ```
/// use artifactory_client::ArtifactoryFactory;
/// use pull_through_fleet::{BackendFactory, BackendTable};
/// let table = BackendTable::new("seeds.toml", "art", "artifactory", 4)
///     .with_field("url_env", "ARTIFACTORY_URL", 5)
///     .with_field("token_env", "ARTIFACTORY_ACCESS_TOKEN", 6)
///     .with_field("docker_access", "port", 7);
/// let err = ArtifactoryFactory.check(&table).unwrap_err();
/// assert_eq!(err.to_string(), "seeds.toml:7: backends.art.docker_access: \"port\" is not a \
///     Docker access method; allowed: \"repository-path\", \"subdomain\"");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ArtifactoryFactory;

/// An Artifactory table's fields, checked.
struct Fields {
    url: Setting,
    token_env: String,
    user: Option<Setting>,
    docker_access: DockerAccessMethod,
}

fn read(table: &BackendTable) -> Result<Fields, ConfigError> {
    let url = match table.setting("url", "url_env")? {
        Some(Setting::Literal(url)) => {
            let parsed = url::Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
            let Some(parsed) = parsed else {
                return Err(table.error(
                    "url",
                    "the value is not an http(s) URL; give the instance's address, such as \
                     \"https://example.jfrog.io\"",
                ));
            };
            // Not echoed: what sits in a URL's userinfo or query is usually a secret.
            if !parsed.username().is_empty()
                || parsed.password().is_some()
                || parsed.query().is_some()
            {
                return Err(table.error(
                    "url",
                    "the URL carries credentials or a query; give only the instance's address \
                     and put the token in the variable token_env names (rotate it if it was one)",
                ));
            }
            Setting::Literal(url)
        }
        Some(other) => other,
        None => {
            return Err(table.table_error(
                "missing url_env (the variable holding the instance's URL, such as \
                 \"ARTIFACTORY_URL\") or url",
            ));
        }
    };
    let token_env = table.variable("token_env")?.ok_or_else(|| {
        table.at_table(
            "token_env",
            "missing: give the variable holding an admin access token, such as \
             \"ARTIFACTORY_ACCESS_TOKEN\"",
        )
    })?;
    let user = table.setting("user", "user_env")?;
    let docker_access = match table.string("docker_access")?.as_deref() {
        None | Some("repository-path") => DockerAccessMethod::RepositoryPath,
        Some("subdomain") => DockerAccessMethod::Subdomain,
        Some(other) => {
            return Err(table.error(
                "docker_access",
                format!(
                    "{other:?} is not a Docker access method; allowed: \"repository-path\", \
                     \"subdomain\""
                ),
            ));
        }
    };
    Ok(Fields {
        url,
        token_env,
        user,
        docker_access,
    })
}

impl BackendFactory for ArtifactoryFactory {
    fn kind(&self) -> &str {
        "artifactory"
    }

    fn fields(&self) -> &[&str] {
        &[
            "url",
            "url_env",
            "token_env",
            "user",
            "user_env",
            "docker_access",
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
        let url = table.require(
            &fields.url,
            env,
            "url_env",
            "the instance's URL (https://example.jfrog.io)",
        )?;
        let token = table.require(
            &Setting::Env(fields.token_env.clone()),
            env,
            "token_env",
            "an admin access token (Administration > User Management > Access Tokens)",
        )?;
        let user = match &fields.user {
            Some(setting) => {
                table.require(setting, env, "user_env", "the user people log in as")?
            }
            None => "<artifactory user>".to_owned(),
        };
        let mut builder = ArtifactoryClient::builder()
            .with_url(url.clone())
            .with_access_token(token.clone());
        if let Some(observer) = &context.observer {
            builder = builder.with_observer(observer.clone());
        }
        let url_field = match &fields.url {
            Setting::Env(_) => "url_env",
            _ => "url",
        };
        let client = builder.build().map_err(|err| {
            table.at_table(url_field, format!("{}: {err}", variable(&fields.url)))
        })?;
        let backend = ArtifactoryBackend::new(client)
            .with_org(context.org.clone())
            .with_docker_method(fields.docker_access);
        let mut variables = Vec::new();
        if let Setting::Env(var) = &fields.url {
            variables.push((var.clone(), SecretString::from(url.clone())));
        }
        if let Some(Setting::Env(var)) = &fields.user {
            variables.push((var.clone(), SecretString::from(user.clone())));
        }
        variables.push((fields.token_env.clone(), SecretString::from(token.clone())));
        Ok(Connected::new(
            std::sync::Arc::new(backend),
            ClientLogin::new(user, token, fields.token_env.clone()),
            url,
        )
        .with_variables(variables)
        .with_credentials_from(
            "token_env",
            fields.token_env.clone(),
            "give an admin access token (Administration > User Management > Access Tokens)",
        ))
    }
}

/// The variable a setting names, for messages (a literal needs none).
fn variable(setting: &Setting) -> &str {
    match setting {
        Setting::Env(var) => var,
        _ => "url",
    }
}
