//! Client access and verification: `docker login docker.cloudsmith.io` with the user slug
//! and the API key, the seed's two forms of pull reference, and a manifest pulled through
//! the repository the way `docker pull` does, with the seed's hints when it fails.

use std::time::Instant;

use pull_through_core::pull::manifest_check;
use pull_through_core::registry::RegistryAuth;
use pull_through_core::{
    AccessItem, CacheRole, CacheState, Check, ClientAccess, ClientLogin, Error, ExposeSecret,
    FieldValue, Probe, Sensitive, UpstreamCredentials, ValidationError, Verification,
};

use crate::backend::CloudsmithBackend;
use crate::builder::USER_VAR;
use crate::rules::{IDENTIFIER_RULES, PRIVATE_UPSTREAM_URL, PUBLIC_UPSTREAM_URL};
use crate::upstreams::normalized;

/// The public image client access prints, as the seed pulls it (no `chainguard/`: the
/// upstream `https://cgr.dev/chainguard` already holds the namespace).
const PUBLIC_IMAGE: &str = "nginx:latest";
/// The private image client access prints after the organization's registry name. The
/// seed's example is `python:3.9-dev`; `chainguard-base` is in every organization's
/// registry (and the sandbox's), so the printed line works as printed.
const PRIVATE_IMAGE: &str = "chainguard-base:latest";
/// What client access shows when no user slug was given.
const USER_PLACEHOLDER: &str = "<cloudsmith user slug>";

/// The upstream URLs a cache pulls through: its own, or an aggregate's members'.
fn upstream_urls(state: &CacheState) -> Option<Vec<&str>> {
    match &state.role {
        CacheRole::Remote { upstream_url, .. } => Some(vec![normalized(upstream_url)]),
        _ => match state.settings.get("upstream_url") {
            Some(FieldValue::List(urls)) => Some(urls.iter().map(|u| normalized(u)).collect()),
            _ => None,
        },
    }
}

/// Whether `https://cgr.dev/chainguard` serves through the cache (unknown: assumed).
fn serves_public(state: &CacheState) -> bool {
    upstream_urls(state).is_none_or(|urls| urls.contains(&PUBLIC_UPSTREAM_URL))
}

/// Whether `https://cgr.dev` serves through the cache (unknown: assumed).
fn serves_private(state: &CacheState) -> bool {
    upstream_urls(state).is_none_or(|urls| urls.contains(&PRIVATE_UPSTREAM_URL))
}

/// The path below the repository that serves `image` (named as on cgr.dev, such as
/// `chainguard/go`): without `chainguard/` where the public upstream serves it, since that
/// upstream's URL ends in the namespace.
pub(crate) fn image_path(state: &CacheState, image: &str) -> String {
    match image.strip_prefix("chainguard/") {
        Some(rest) if serves_public(state) => rest.to_owned(),
        _ => image.to_owned(),
    }
}

/// Refuses a probe that is not an image path and a tag or digest, before any request:
/// both go into the registry's URL path, so `..` or a `/` in a tag would point elsewhere.
/// The image is path components of lowercase letters, digits and `._-`; the reference a
/// tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) or a digest (`algorithm:hex`).
fn check_probe(image: &str, reference: &str) -> Result<(), ValidationError> {
    let invalid = |problem: String| ValidationError::InvalidValue {
        field: "probe".to_owned(),
        problem,
    };
    let component_ok = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    };
    if image.is_empty() || !image.split('/').all(component_ok) {
        return Err(invalid(format!(
            "{image:?} is not an image path (lowercase letters, digits and ._- in components              separated by /, such as chainguard/go)"
        )));
    }
    let tag_ok = |tag: &str| {
        (1..=128).contains(&tag.len())
            && tag
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    };
    let digest_ok = |digest: &str| {
        digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                && !hex.is_empty()
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        })
    };
    if !(tag_ok(reference) || digest_ok(reference)) {
        return Err(invalid(format!(
            "{reference:?} is neither a tag (such as latest) nor a digest (sha256:...)"
        )));
    }
    Ok(())
}

impl CloudsmithBackend {
    /// `docker login` and the pull references of one cache.
    pub(crate) fn access(&self, state: &CacheState, login: Option<&ClientLogin>) -> ClientAccess {
        let client = self.client();
        let (username, password) = match login {
            Some(login) => (
                login.username.clone(),
                Sensitive::new(login.password_reference(), login.password.expose_secret()),
            ),
            None => (
                client.user().unwrap_or(USER_PLACEHOLDER).to_owned(),
                Sensitive::new(
                    format!("\"${}\"", client.api_key_var()),
                    client.api_key().expose_secret(),
                ),
            ),
        };
        let registry = self.registry_of(self.layout().repository_of(state.name.as_str()));
        let mut access = ClientAccess::new(state.name.clone()).with(AccessItem::DockerLogin {
            registry: client.docker_host(),
            username,
            password,
        });
        if serves_public(state) {
            access = access.with(AccessItem::DockerPull {
                reference: format!("{registry}/{PUBLIC_IMAGE}"),
            });
        }
        if serves_private(state) {
            let org = self.org().map_or("<org>".to_owned(), ToString::to_string);
            access = access.with(AccessItem::DockerPull {
                reference: format!("{registry}/{org}/{PRIVATE_IMAGE}"),
            });
        }
        access
    }

    /// A manifest pulled through the cache's repository: a token from the registry's
    /// challenge with the user slug and the API key (as `docker login` has them), then the
    /// manifest.
    pub(crate) async fn pull(
        &self,
        state: &CacheState,
        probe: &Probe,
    ) -> Result<Verification, Error> {
        let mut verification = Verification::new(state.name.clone());
        let Probe::DockerManifest { image, reference } = probe else {
            return Err(Error::Unsupported {
                vendor: "cloudsmith".to_owned(),
                what: format!("verifying {} with {probe}", state.name),
                hint: "Cloudsmith caches here hold container images only".to_owned(),
            });
        };
        check_probe(image, reference)?;
        let client = self.client();
        let repository = self.layout().repository_of(state.name.as_str());
        let scope = format!(
            "{}/{repository}/{}",
            client.owner(),
            image_path(state, image)
        );
        let separator = if reference.contains(':') { '@' } else { ':' };
        let step = format!(
            "manifest {}/{scope}{separator}{reference}",
            client.docker_host()
        );
        let started = Instant::now();
        // A configured user slug was checked when the client was built; one the API
        // gives is checked before it goes into a login.
        let user = match client.user() {
            Some(user) => user.to_owned(),
            None => {
                let me = client.user_self().await?;
                match me.slug.filter(|slug| IDENTIFIER_RULES.check(slug).is_ok()) {
                    Some(slug) if me.authenticated => slug,
                    _ => {
                        verification.push(Check::failed(
                            "registry login user",
                            "GET /user/self/ gave no user slug for the API key",
                            Some(format!(
                                "docker login {} takes the user slug the API key belongs to; \
                                 set {USER_VAR} (or with_user) to it",
                                client.docker_host()
                            )),
                            started.elapsed(),
                        ));
                        return Ok(verification);
                    }
                }
            }
        };
        let login = UpstreamCredentials::new(user.clone(), client.api_key().clone())
            .map_err(Error::InvalidInput)?;
        let auth = RegistryAuth::with_observer(client.docker_url().clone(), client.observer())?;
        let token = match auth.pull_token(&scope, Some(&login)).await {
            Ok(token) => token,
            Err(err) => {
                let hint = format!(
                    "docker login {} takes the user slug ({user}) and the API key ({}); check \
                     both",
                    client.docker_host(),
                    client.api_key_var()
                );
                verification.push(Check::failed(
                    format!("registry token for {scope}"),
                    err.to_string(),
                    Some(hint),
                    started.elapsed(),
                ));
                return Ok(verification);
            }
        };
        let mut request = client
            .docker_http()
            .get(&format!("v2/{scope}/manifests/{reference}"));
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        verification.push(manifest_check(request, step, || Some(self.pull_hint(state))).await);
        Ok(verification)
    }

    /// The seed's debugging hints, the first that fits.
    fn pull_hint(&self, state: &CacheState) -> String {
        let registry = self.registry_of(self.layout().repository_of(state.name.as_str()));
        let setting = |field: &str| match state.settings.get(field) {
            Some(FieldValue::Text(text)) => Some(text.as_str()),
            _ => None,
        };
        if let CacheRole::Remote {
            upstream_url,
            username,
        } = &state.role
        {
            let url = normalized(upstream_url);
            if url != PUBLIC_UPSTREAM_URL && url != PRIVATE_UPSTREAM_URL {
                return format!(
                    "the upstream URL is {upstream_url:?}; it must be exactly \
                     {PUBLIC_UPSTREAM_URL} (public images) or {PRIVATE_UPSTREAM_URL} (an \
                     organization's, with a pull token): any other URL fails"
                );
            }
            if setting("mode").is_some_and(|mode| mode != "Cache and Proxy") {
                return "set the upstream's mode to Cache and Proxy (the API's default, Proxy \
                        Only, does not cache)"
                    .to_owned();
            }
            if url == PRIVATE_UPSTREAM_URL && username.is_none() {
                return format!(
                    "{PRIVATE_UPSTREAM_URL} needs Username and Password from a pull token \
                     bound to registry.pull"
                );
            }
        }
        let org = self.org().map_or("<org>".to_owned(), ToString::to_string);
        match (serves_public(state), serves_private(state)) {
            (true, false) => format!(
                "public images are pulled without the chainguard/ prefix: {registry}/{PUBLIC_IMAGE}"
            ),
            (false, true) => format!(
                "check the pull token (bound to registry.pull, not expired), and that the \
                 reference names the organization's registry: {registry}/{org}/{PRIVATE_IMAGE}"
            ),
            _ => format!(
                "public images are pulled as {registry}/{PUBLIC_IMAGE}, the organization's as \
                 {registry}/{org}/{PRIVATE_IMAGE}; check the pull token of the {PRIVATE_UPSTREAM_URL} \
                 upstream (bound to registry.pull, not expired)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pull_through_core::{CacheName, PackageFormat, Reveal};

    fn backend() -> CloudsmithBackend {
        let client = crate::CloudsmithClient::builder()
            .with_owner("acme")
            .with_api_key("the-api-key-itself")
            .with_user("linky")
            .build()
            .unwrap();
        CloudsmithBackend::new(client).with_org("example.com".parse().unwrap())
    }

    fn remote(name: &str, url: &str) -> CacheState {
        CacheState::remote(CacheName::new(name).unwrap(), PackageFormat::Docker, url)
    }

    #[test]
    fn the_seed_prints_two_forms_of_reference() {
        let backend = backend();
        let public = backend.access(&remote("cgr-public", "https://cgr.dev/chainguard"), None);
        assert_eq!(
            public.render(Reveal::Names),
            "docker login docker.cloudsmith.io --username linky --password \"$CLOUDSMITH_API_KEY\"\n\
             docker pull docker.cloudsmith.io/acme/cgr-public/nginx:latest"
        );
        assert!(
            public
                .render(Reveal::Secrets)
                .contains("the-api-key-itself")
        );
        let private = backend.access(
            &remote("cgr-private", "https://cgr.dev").with_username("org/id"),
            None,
        );
        assert_eq!(
            private.render(Reveal::Names).lines().last(),
            Some(
                "docker pull docker.cloudsmith.io/acme/cgr-private/example.com/chainguard-base:latest"
            )
        );
        assert!(!format!("{private:?}").contains("the-api-key-itself"));
    }

    #[test]
    fn probes_are_image_paths_and_tags_or_digests() {
        for (image, reference) in [
            ("chainguard/go", "latest"),
            ("example.com/chainguard-base", "3.9-dev"),
            ("go", "sha256:0123abcdef"),
            ("a_b/c.d-e", "_x"),
        ] {
            assert!(check_probe(image, reference).is_ok(), "{image} {reference}");
        }
        for (image, reference) in [
            ("", "latest"),
            ("../../user/self", "latest"),
            ("chainguard//go", "latest"),
            ("Chainguard/go", "latest"),
            ("chainguard/go", ""),
            ("chainguard/go", "latest/../../x"),
            ("chainguard/go", "sha256:"),
            ("chainguard/go", ".hidden"),
            ("chainguard/go", "a b"),
        ] {
            assert!(
                check_probe(image, reference).is_err(),
                "{image} {reference}"
            );
        }
    }

    #[test]
    fn the_namespace_goes_only_where_the_public_upstream_does_not_hold_it() {
        let public = remote("p", "https://cgr.dev/chainguard/");
        assert_eq!(image_path(&public, "chainguard/go"), "go");
        let private = remote("q", "https://cgr.dev");
        assert_eq!(image_path(&private, "chainguard/go"), "chainguard/go");
        assert_eq!(
            image_path(&private, "example.com/chainguard-base"),
            "example.com/chainguard-base"
        );
    }
}
