//! What Artifactory supplies to the core's shared reconcile: how to read a repository, the
//! settings a spec asks for, what of the server's answer is noise, and how to write.
//!
//! [`Repositories`] is private, so the reconcile's writes are reached only through
//! [`ArtifactoryBackend`]'s `plan` and `ensure`, which check the spec first.

use async_trait::async_trait;
use pull_through_core::reconcile::{Observed, PasswordWrite, Reconcile, Write};
use pull_through_core::{
    CacheKind, CacheName, CacheSpec, CacheState, Error, FieldChange, FieldValue, NameCase,
    PackageFormat,
};

use crate::backend::ArtifactoryBackend;
use crate::model::RepositoryConfig;

/// The settings Artifactory compares, in the order a plan shows them.
const COMPARED: [&str; 7] = [
    "url",
    "includesPattern",
    "enableTokenAuthentication",
    "blockMismatchingMimeTypes",
    "disableUrlNormalization",
    "repositories",
    "description",
];

/// The repository configuration a spec asks for.
pub(crate) fn desired_config(spec: &CacheSpec) -> RepositoryConfig {
    let key = spec.name.as_str();
    let mut config = match &spec.kind {
        CacheKind::Remote(remote) => match remote.upstream.format() {
            PackageFormat::Docker => {
                RepositoryConfig::remote_docker(key, remote.credentials.as_ref())
            }
            _ => {
                RepositoryConfig::remote_alpine(key, &remote.upstream, remote.credentials.as_ref())
            }
        },
        CacheKind::Aggregate(aggregate) => {
            let members: Vec<&str> = aggregate.members.iter().map(CacheName::as_str).collect();
            match aggregate.format {
                PackageFormat::Docker => RepositoryConfig::virtual_docker(key, &members),
                _ => RepositoryConfig::virtual_generic(key, &members),
            }
        }
        _ => RepositoryConfig::default(),
    };
    config.description = spec.description.clone();
    config
}

/// One compared setting of `config`, as a plan shows it.
fn setting(config: &RepositoryConfig, field: &str) -> Option<FieldValue> {
    match field {
        "url" => config.url.clone().map(Into::into),
        "includesPattern" => config.includes_pattern.clone().map(Into::into),
        "enableTokenAuthentication" => config.enable_token_authentication.map(Into::into),
        "blockMismatchingMimeTypes" => config.block_mismatching_mime_types.map(Into::into),
        "disableUrlNormalization" => config.disable_url_normalization.map(Into::into),
        "repositories" => config.repositories.clone().map(Into::into),
        // An empty description and none are the same to Artifactory.
        "description" => config
            .description
            .clone()
            .filter(|d| !d.is_empty())
            .map(Into::into),
        _ => None,
    }
}

/// The JSON Artifactory takes for one compared setting of `config` (never the password,
/// which is not a compared setting).
fn setting_json(config: &RepositoryConfig, field: &str) -> serde_json::Value {
    match field {
        // Sent as configured, even empty: an empty description clears the stored one.
        "description" => config.description.clone().into(),
        _ => match setting(config, field) {
            Some(FieldValue::Text(text)) => text.into(),
            Some(FieldValue::Bool(flag)) => flag.into(),
            Some(FieldValue::List(items)) => items.into(),
            _ => serde_json::Value::Null,
        },
    }
}

/// The repositories of one backend, as the core's reconcile sees them.
pub(crate) struct Repositories<'a>(pub(crate) &'a ArtifactoryBackend);

#[async_trait]
impl Reconcile for Repositories<'_> {
    type Resource = RepositoryConfig;

    fn vendor(&self) -> &str {
        "artifactory"
    }

    fn name_case(&self) -> NameCase {
        NameCase::Insensitive
    }

    async fn read(&self, name: &CacheName) -> Result<Option<RepositoryConfig>, Error> {
        self.0.client().get_repository(name.as_str()).await
    }

    async fn names(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .0
            .client()
            .list_repositories(None, None)
            .await?
            .into_iter()
            .map(|summary| summary.key)
            .collect())
    }

    fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
        let desired = desired_config(spec);
        COMPARED
            .iter()
            .filter_map(|field| setting(&desired, field).map(|value| ((*field).to_owned(), value)))
            .collect()
    }

    /// Every field of the create body, as the repository will be sent (the key aside).
    fn create_fields(&self, spec: &CacheSpec) -> Vec<FieldChange> {
        let json = serde_json::to_value(desired_config(spec)).unwrap_or_default();
        json.as_object()
            .into_iter()
            .flatten()
            .filter(|(field, _)| *field != "key")
            .map(|(field, value)| {
                let shown = if field == "password" {
                    FieldValue::Secret
                } else {
                    match value {
                        serde_json::Value::Bool(b) => (*b).into(),
                        serde_json::Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().unwrap_or_default().to_owned())
                            .collect::<Vec<_>>()
                            .into(),
                        other => other.as_str().unwrap_or_default().to_owned().into(),
                    }
                };
                FieldChange::new(field.clone(), None, shown)
            })
            .collect()
    }

    fn observed(&self, spec: &CacheSpec, actual: &RepositoryConfig) -> Observed {
        let mut observed = Observed::new();
        for field in COMPARED {
            let value = match field {
                // Artifactory may store the upstream with or without its trailing slash;
                // an equivalent URL is the desired one.
                "url" => match (spec.upstream(), actual.url.as_deref()) {
                    (Some(upstream), Some(url)) if upstream.matches_url(url) => {
                        setting(&desired_config(spec), "url")
                    }
                    _ => setting(actual, "url"),
                },
                // Artifactory appends " (local file cache)" to remotes' descriptions.
                "description" => actual.clean_description().map(|d| d.to_owned().into()),
                _ => setting(actual, field),
            };
            observed = observed.with_opt(field, value);
        }
        match &actual.username {
            Some(user) => observed.with_username(user.clone()),
            None => observed,
        }
    }

    fn check_update(&self, spec: &CacheSpec, actual: &RepositoryConfig) -> Result<(), Error> {
        let desired = desired_config(spec);
        if actual.rclass.eq_ignore_ascii_case(&desired.rclass)
            && actual
                .package_type
                .eq_ignore_ascii_case(&desired.package_type)
        {
            return Ok(());
        }
        Err(Error::Unsupported {
            vendor: "artifactory".to_owned(),
            what: format!(
                "turning {} ({} {}) into a {} {} repository",
                spec.name, actual.rclass, actual.package_type, desired.rclass, desired.package_type
            ),
            hint: "Artifactory cannot change a repository's class or type: delete it (its cache \
                   goes with it) and apply again"
                .to_owned(),
        })
    }

    /// One listing of every repository (its answer holds keys, class and type, not the
    /// settings, so each existing cache is still read on its own; but a first apply
    /// creates without a read, and the letter-case twin check needs no listing of its own).
    async fn list_all(&self) -> Result<Option<Vec<(String, Option<RepositoryConfig>)>>, Error> {
        Ok(Some(
            self.names()
                .await?
                .into_iter()
                .map(|name| (name, None))
                .collect(),
        ))
    }

    async fn create(&self, spec: &CacheSpec) -> Result<RepositoryConfig, Error> {
        let desired = desired_config(spec);
        self.0.client().create_repository(&desired).await?;
        // No read back: a 200 to the PUT means the repository was made as sent, and the
        // state reported (key, class, type, URL, username, members) is what was sent. The
        // server's additions (defaults, the " (local file cache)" suffix) are seen by the
        // next run's read, where they are compared as noise.
        Ok(desired)
    }

    async fn update(
        &self,
        spec: &CacheSpec,
        actual: &RepositoryConfig,
        write: &Write<'_>,
    ) -> Result<RepositoryConfig, Error> {
        let desired = desired_config(spec);
        let mut body = serde_json::Map::new();
        for change in write.changes {
            match change.field.as_str() {
                "password" => {}
                // Real Artifactory answers `"username": ""` for a remote without
                // credentials, so clearing them is writing the empty string.
                "username" => {
                    body.insert(
                        "username".to_owned(),
                        desired.username.clone().unwrap_or_default().into(),
                    );
                }
                field => {
                    body.insert(field.to_owned(), setting_json(&desired, field));
                }
            }
        }
        let password = match write.password {
            PasswordWrite::Set(password) => Some(password),
            PasswordWrite::Clear => {
                body.insert("password".to_owned(), "".into());
                None
            }
            _ => None,
        };
        self.0
            .client()
            .update_repository(
                spec.name.as_str(),
                &serde_json::Value::Object(body),
                password,
            )
            .await?;
        Ok(self
            .read(&spec.name)
            .await?
            .unwrap_or_else(|| actual.clone()))
    }

    fn state(&self, config: &RepositoryConfig) -> Result<CacheState, Error> {
        self.0.state_of(config)
    }
}
