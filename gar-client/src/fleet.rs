//! [`GarFactory`]: `[backends.NAME] type = "gar"` in a `pull-through-fleet` config (feature
//! `fleet`). GAR's own fields are read and checked here, next to the client that uses
//! them.
//!
//! | field | what |
//! |---|---|
//! | `project` or `project_env` | the project id, or the variable that holds it |
//! | `location` or `location_env` | the location (`us-central1`), or the variable that holds it |
//! | `token_env` | the variable holding a static access token; absent: `GOOGLE_OAUTH_ACCESS_TOKEN` when the environment holds it, else Application Default Credentials |
//!
//! The endpoint overrides (`CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY`,
//! `..._SECRETMANAGER`, `..._CLOUDRESOURCEMANAGER`, `GAR_DOCKER_REGISTRY_URL`) and
//! `GOOGLE_CLOUD_QUOTA_PROJECT` are read from the environment when set there.

use std::sync::Arc;

use pull_through_core::{ClientLogin, SecretString};
use pull_through_fleet::{
    BackendFactory, BackendTable, ConfigError, ConnectContext, Connected, Setting,
};

use crate::auth::{ACCESS_TOKEN_VAR, StaticToken};
use crate::backend::GarBackend;
use crate::client::GarClient;
use crate::rules::{check_location, check_project_id};

/// Makes [`GarBackend`]s from config tables.
///
/// ```
/// use gar_client::GarFactory;
/// use pull_through_fleet::{BackendFactory, BackendTable};
/// let table = BackendTable::new("seeds.toml", "gar", "gar", 9)
///     .with_field("project", "pull-through-sandbox", 10)
///     .with_field("location", "us-central1-a", 11);
/// let err = GarFactory.check(&table).unwrap_err();
/// assert!(err.to_string().starts_with("seeds.toml:11: backends.gar.location: "), "{err}");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GarFactory;

/// A GAR table's fields, checked.
struct Fields {
    project: Setting,
    location: Setting,
    token_env: Option<String>,
}

fn read(table: &BackendTable) -> Result<Fields, ConfigError> {
    let project = match table.setting("project", "project_env")? {
        Some(Setting::Literal(project)) => {
            check_project_id(&project).map_err(|err| table.error("project", err.to_string()))?;
            Setting::Literal(project)
        }
        Some(other) => other,
        None => {
            return Err(table.table_error(
                "missing project (the project id, such as \"my-project\") or project_env \
                 (such as \"GOOGLE_CLOUD_PROJECT\")",
            ));
        }
    };
    let location = match table.setting("location", "location_env")? {
        Some(Setting::Literal(location)) => {
            check_location(&location).map_err(|err| table.error("location", err.to_string()))?;
            Setting::Literal(location)
        }
        Some(other) => other,
        None => {
            return Err(table.table_error(
                "missing location (such as \"us-central1\") or location_env (such as \
                 \"GOOGLE_CLOUD_LOCATION\")",
            ));
        }
    };
    let token_env = table.variable("token_env")?;
    Ok(Fields {
        project,
        location,
        token_env,
    })
}

/// The field a setting was given in, for messages.
fn field<'a>(setting: &Setting, literal: &'a str, env: &'a str) -> &'a str {
    match setting {
        Setting::Env(_) => env,
        _ => literal,
    }
}

impl BackendFactory for GarFactory {
    fn kind(&self) -> &str {
        "gar"
    }

    fn fields(&self) -> &[&str] {
        &[
            "project",
            "project_env",
            "location",
            "location_env",
            "token_env",
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
        let project = table.require(&fields.project, env, "project_env", "the project id")?;
        let location = table.require(
            &fields.location,
            env,
            "location_env",
            "the location, such as us-central1",
        )?;
        let mut builder = GarClient::builder()
            .from_env_with(|var| env.get(var))
            .with_project(project.clone())
            .with_location(location);
        // Without token_env, GOOGLE_OAUTH_ACCESS_TOKEN when the environment holds one, as
        // `from_env` (and Terraform's Google provider) read it. This also keeps a closed
        // environment closed: the sandbox's holds the token, and ADC would look past it
        // at the process's key files, gcloud's login and the metadata server.
        let token_var = fields.token_env.clone().or_else(|| {
            env.get(ACCESS_TOKEN_VAR)
                .filter(|token| !token.is_empty())
                .map(|_| ACCESS_TOKEN_VAR.to_owned())
        });
        let (login, variables) = match &token_var {
            Some(var) => {
                let token = table.require(
                    &Setting::Env(var.clone()),
                    env,
                    "token_env",
                    "an access token (gcloud auth print-access-token)",
                )?;
                builder = builder.with_token_source(Arc::new(
                    StaticToken::new(token.clone()).named(var.clone()),
                ));
                (
                    ClientLogin::new("oauth2accesstoken", token.clone(), var.clone()),
                    vec![(var.clone(), SecretString::from(token))],
                )
            }
            // No token to print: client access logs in through gcloud instead.
            None => {
                builder = builder.with_application_default_credentials();
                (
                    ClientLogin::new("oauth2accesstoken", String::new(), ACCESS_TOKEN_VAR),
                    Vec::new(),
                )
            }
        };
        if let Some(observer) = &context.observer {
            builder = builder.with_observer(observer.clone());
        }
        let client = builder.build().map_err(|err| {
            let text = err.to_string();
            // The quota project comes from the environment, not from a field of the table.
            let at = if text.contains("quota project") {
                "type"
            } else if text.contains("location") {
                field(&fields.location, "location", "location_env")
            } else if text.contains("project") {
                field(&fields.project, "project", "project_env")
            } else {
                "type"
            };
            table.at_table(at, text)
        })?;
        let url = format!("{}{project}", client.inner().docker_url);
        let backend = GarBackend::new(client).with_org(context.org.clone());
        let connected = Connected::new(Arc::new(backend), login, url).with_variables(variables);
        Ok(match &token_var {
            Some(var) => connected.with_credentials_from(
                "token_env",
                var.clone(),
                format!(
                    "give a fresh access token with the cloud-platform scope: export \
                     {var}=\"$(gcloud auth print-access-token)\""
                ),
            ),
            None => connected.with_credentials_from(
                "token_env",
                "Application Default Credentials",
                "run gcloud auth application-default login, or set token_env to a variable \
                 holding an access token",
            ),
        })
    }
}
