//! The checks of a parsed file: each value against its rules, then the caches as a whole
//! (names, backends, members, formats, cycles).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pull_through_core::{CacheName, OrgId, OrgName, PackageFormat, Probe, PullTokenRole, Upstream};
use toml::Spanned;

use super::raw::{RawBackend, RawCache, RawConfig};
use super::{
    CacheConfig, CacheIntent, Config, ConfigError, MAX_TTL, UPSTREAMS, UpstreamTemplate, locate,
};
use crate::factory::{BackendTable, Factories, TableField};

pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) factories: &'a Factories,
}

impl Checker<'_> {
    fn error(
        &self,
        offset: usize,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line: locate::line_of(self.text, offset),
            field: field.into(),
            problem: problem.into(),
        }
    }

    fn at<T>(
        &self,
        value: &Spanned<T>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> ConfigError {
        self.error(value.span().start, field, problem)
    }

    pub(super) fn check(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let name = raw.name.get_ref();
        let name_ok = !name.is_empty()
            && name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(self.at(
                &raw.name,
                "name",
                format!(
                    "{name:?} is not allowed: it tags the pull tokens this config makes; use 1 to 40 \
                     lowercase letters, digits and '-', starting with a letter or digit"
                ),
            ));
        }
        let chainguard = raw.chainguard.get_ref();
        let org = OrgName::new(chainguard.org.get_ref().clone())
            .map_err(|err| self.at(&chainguard.org, "chainguard.org", err.to_string()))?;
        let org_id = chainguard
            .org_id
            .as_ref()
            .map(|id| {
                OrgId::new(id.get_ref().clone())
                    .map_err(|err| self.at(id, "chainguard.org_id", err.to_string()))
            })
            .transpose()?;
        let pull_token_ttl = match &chainguard.pull_token_ttl {
            None => Duration::from_secs(720 * 3600),
            Some(ttl) => {
                let problem =
                    "give a duration from 1s to 8760h, such as \"720h\" (chainctl's default)";
                let parsed = humantime::parse_duration(ttl.get_ref()).map_err(|err| {
                    self.at(
                        ttl,
                        "chainguard.pull_token_ttl",
                        format!("{err}; {problem}"),
                    )
                })?;
                if parsed.is_zero() || parsed > MAX_TTL {
                    return Err(self.at(
                        ttl,
                        "chainguard.pull_token_ttl",
                        format!(
                            "{:?} is outside what Chainguard accepts; {problem}",
                            ttl.get_ref()
                        ),
                    ));
                }
                parsed
            }
        };

        if raw.backends.is_empty() {
            return Err(self.error(
                self.text.len(),
                "backends",
                format!(
                    "no backend: add a [backends.NAME] table with type = one of {}",
                    quoted(self.factories.kinds())
                ),
            ));
        }
        let mut backends = BTreeMap::new();
        for (backend_name, backend) in &raw.backends {
            backends.insert(backend_name.clone(), self.backend(backend_name, backend)?);
        }

        if raw.caches.is_empty() {
            return Err(self.error(
                self.text.len(),
                "caches",
                "no cache: add [[caches]] entries with a name and an upstream or members",
            ));
        }
        let mut caches: Vec<CacheConfig> = Vec::new();
        for (index, cache) in raw.caches.iter().enumerate() {
            caches.push(self.cache(index, cache, &backends, &org)?);
        }
        self.aggregates(&raw.caches, &mut caches)?;
        Ok(Config {
            file: self.file.to_owned(),
            name: name.clone(),
            org,
            org_id,
            org_id_line: chainguard
                .org_id
                .as_ref()
                .map_or(0, |id| locate::line_of(self.text, id.span().start)),
            pull_token_ttl,
            backends,
            caches,
        })
    }

    /// `type` names a known factory, every other field is one that factory reads, and
    /// the factory accepts their values.
    fn backend(
        &self,
        name: &str,
        spanned: &Spanned<RawBackend>,
    ) -> Result<BackendTable, ConfigError> {
        let fields = spanned.get_ref();
        let line = locate::line_of(self.text, spanned.span().start);
        let kinds = quoted(self.factories.kinds());
        let Some(kind) = fields.get("type") else {
            return Err(self.at(
                spanned,
                format!("backends.{name}.type"),
                format!("missing field `type`; allowed: {kinds}"),
            ));
        };
        let toml::Value::String(kind_text) = kind.get_ref() else {
            return Err(self.at(
                kind,
                format!("backends.{name}.type"),
                format!(
                    "invalid type: {}, expected a string",
                    kind.get_ref().type_str()
                ),
            ));
        };
        let Some(factory) = self.factories.get(kind_text) else {
            return Err(self.at(
                kind,
                format!("backends.{name}.type"),
                format!("{kind_text:?} is not a backend type this program knows; allowed: {kinds}"),
            ));
        };
        let mut table = BackendTable::new(self.file, name, kind_text.clone(), line);
        for (field, value) in fields {
            if field == "type" {
                continue;
            }
            if !factory.fields().contains(&field.as_str()) {
                let expected: Vec<String> = std::iter::once("type")
                    .chain(factory.fields().iter().copied())
                    .map(|f| format!("`{f}`"))
                    .collect();
                return Err(self.at(
                    value,
                    format!("backends.{name}.{field}"),
                    format!(
                        "unknown field `{field}`, expected one of {}",
                        expected.join(", ")
                    ),
                ));
            }
            table.fields.insert(
                field.clone(),
                TableField {
                    value: value.get_ref().clone(),
                    line: locate::line_of(self.text, value.span().start),
                },
            );
        }
        factory.check(&table)?;
        Ok(table)
    }

    fn cache(
        &self,
        index: usize,
        spanned: &Spanned<RawCache>,
        backends: &BTreeMap<String, BackendTable>,
        org: &OrgName,
    ) -> Result<CacheConfig, ConfigError> {
        let cache = spanned.get_ref();
        let field = |f: &str| format!("caches[{index}].{f}");
        let name = CacheName::new(cache.name.get_ref().clone())
            .map_err(|err| self.at(&cache.name, field("name"), err.to_string()))?;
        let backend = match &cache.backend {
            Some(backend) if backends.contains_key(backend.get_ref()) => backend.get_ref().clone(),
            Some(backend) => {
                return Err(self.at(
                    backend,
                    field("backend"),
                    format!(
                        "no backend {:?}; allowed: {}",
                        backend.get_ref(),
                        quoted(backends.keys())
                    ),
                ));
            }
            None if backends.len() == 1 => backends.keys().next().cloned().unwrap_or_default(),
            None => {
                return Err(self.at(
                    spanned,
                    field("backend"),
                    format!(
                        "missing: there are several backends; name one of {}",
                        quoted(backends.keys())
                    ),
                ));
            }
        };
        let description = cache.description.as_ref().map(|d| d.get_ref().clone());
        let line = locate::line_of(self.text, spanned.span().start);
        let (kind, format) = match (&cache.upstream, &cache.members) {
            (Some(upstream), None) => {
                let (template, role, format) = self.remote(index, cache, upstream, org)?;
                (
                    CacheIntent::Remote {
                        upstream: template,
                        pull_token: role,
                    },
                    format,
                )
            }
            (None, Some(members)) => {
                if let Some(token) = &cache.pull_token {
                    return Err(self.at(
                        token,
                        field("pull_token"),
                        "an aggregate cache has no upstream of its own; give pull_token on its members",
                    ));
                }
                let mut names = Vec::new();
                for member in members.get_ref() {
                    names.push(
                        CacheName::new(member.clone())
                            .map_err(|err| self.at(members, field("members"), err.to_string()))?,
                    );
                }
                // The format is filled in once every cache is known.
                (
                    CacheIntent::Aggregate { members: names },
                    PackageFormat::Docker,
                )
            }
            (Some(upstream), Some(_)) => {
                return Err(self.at(
                    upstream,
                    field("upstream"),
                    "give upstream (a cache of one upstream) or members (a cache over other caches), not both",
                ));
            }
            (None, None) => {
                return Err(self.at(
                    spanned,
                    format!("caches[{index}]"),
                    format!("missing upstream or members; upstreams allowed: {UPSTREAMS}"),
                ));
            }
        };
        Ok(CacheConfig {
            name,
            backend,
            format,
            description,
            kind,
            // Read once the format of every cache is known.
            probe: None,
            line,
        })
    }

    fn remote(
        &self,
        index: usize,
        cache: &RawCache,
        upstream: &Spanned<String>,
        org: &OrgName,
    ) -> Result<(UpstreamTemplate, Option<PullTokenRole>, PackageFormat), ConfigError> {
        let field = |f: &str| format!("caches[{index}].{f}");
        let text = upstream.get_ref();
        let unknown = text
            .replace("{org_id}", "")
            .replace("{org}", "")
            .contains(['{', '}']);
        if unknown {
            return Err(self.at(
                upstream,
                field("upstream"),
                format!("{text:?} has an unknown placeholder; allowed: {{org}} and {{org_id}}"),
            ));
        }
        let template = UpstreamTemplate(text.clone());
        // Any well-formed id will do to check the rest; the real one is looked up later.
        let placeholder_id = super::placeholder_org_id();
        let resolved = template.resolve(org, &placeholder_id).map_err(|err| {
            self.at(
                upstream,
                field("upstream"),
                format!("{err}; allowed: {UPSTREAMS}"),
            )
        })?;
        let required = resolved.required_role();
        let role = match (&cache.pull_token, required) {
            (None, None) => None,
            (None, Some(role)) => {
                return Err(self.at(
                    upstream,
                    field("pull_token"),
                    format!("missing: {resolved} is private; add pull_token = \"{role}\""),
                ));
            }
            (Some(given), None) => {
                return Err(self.at(
                    given,
                    field("pull_token"),
                    format!("{resolved} is public and needs no pull token; remove pull_token"),
                ));
            }
            (Some(given), Some(role)) => {
                if given.get_ref() != role.as_str() {
                    return Err(self.at(
                        given,
                        field("pull_token"),
                        format!(
                            "{:?} does not grant {resolved}; allowed: \"{role}\" (\"registry.pull\" for \
                             cgr.dev, \"apk.pull\" for apk.cgr.dev)",
                            given.get_ref()
                        ),
                    ));
                }
                let own_org = match &resolved {
                    Upstream::CgrPrivate { org: upstream_org }
                    | Upstream::Apk { org: upstream_org } => upstream_org == org,
                    _ => true,
                };
                if !own_org {
                    return Err(self.at(
                        upstream,
                        field("upstream"),
                        format!(
                            "{resolved} belongs to another organization than chainguard.org = {org:?}; \
                             pull tokens are made in {org}, so write {{org}} or use a config per organization"
                        ),
                    ));
                }
                Some(role)
            }
        };
        Ok((template, role, resolved.format()))
    }

    fn probe(
        &self,
        probe: &Spanned<String>,
        field: &str,
        format: PackageFormat,
    ) -> Result<Probe, ConfigError> {
        let text = probe.get_ref().trim();
        if text.is_empty() {
            return Err(self.at(
                probe,
                field,
                "is empty; give an image (\"chainguard/go:latest\") for a Docker cache or a package \
                 (\"libstdc++\") for an APK cache",
            ));
        }
        Ok(match format {
            PackageFormat::Docker => {
                let (image, reference) = image_reference(text).map_err(|rule| {
                    self.at(
                        probe,
                        field,
                        format!(
                            "{text:?} is not an image reference: {rule}; write \
                             \"path/name[:tag][@sha256:digest]\" below the cache, such as \
                             \"chainguard/go:latest\""
                        ),
                    )
                })?;
                Probe::DockerManifest {
                    image: image.to_owned(),
                    reference: reference.to_owned(),
                }
            }
            _ => Probe::ApkIndex {
                arch: "x86_64".to_owned(),
                package: Some(text.to_owned()),
            },
        })
    }

    /// Members exist, are on the same backend, serve one format, and form no cycle.
    fn aggregates(
        &self,
        raw: &[Spanned<RawCache>],
        caches: &mut [CacheConfig],
    ) -> Result<(), ConfigError> {
        let mut seen = BTreeSet::new();
        for (index, cache) in caches.iter().enumerate() {
            if !seen.insert(cache.name.as_str().to_owned()) {
                return Err(self.at(
                    &raw[index].get_ref().name,
                    format!("caches[{index}].name"),
                    format!(
                        "{:?} is named twice; give each cache its own name",
                        cache.name.as_str()
                    ),
                ));
            }
        }
        let index_of = |name: &CacheName| caches.iter().position(|c| &c.name == name);
        let mut formats: Vec<Option<PackageFormat>> = caches
            .iter()
            .map(|c| matches!(c.kind, CacheIntent::Remote { .. }).then_some(c.format))
            .collect();
        // Each pass settles aggregates whose members are settled; a pass that settles
        // nothing means a cycle.
        loop {
            let mut progressed = false;
            for (index, cache) in caches.iter().enumerate() {
                let CacheIntent::Aggregate { members } = &cache.kind else {
                    continue;
                };
                if formats[index].is_some() {
                    continue;
                }
                let members_field = format!("caches[{index}].members");
                let spanned = raw[index]
                    .get_ref()
                    .members
                    .as_ref()
                    .ok_or_else(|| self.error(0, &members_field, "missing"))?;
                if members.is_empty() {
                    return Err(self.at(
                        spanned,
                        &members_field,
                        "is empty; list the caches it serves, in order",
                    ));
                }
                let mut member_formats = Vec::new();
                for member in members {
                    let Some(at) = index_of(member) else {
                        return Err(self.at(
                            spanned,
                            &members_field,
                            format!(
                                "{:?} is not a cache in this file; allowed: {}",
                                member.as_str(),
                                quoted(
                                    caches
                                        .iter()
                                        .filter(|c| c.name != cache.name)
                                        .map(|c| c.name.as_str())
                                )
                            ),
                        ));
                    };
                    if member == &cache.name {
                        return Err(self.at(spanned, &members_field, "lists the cache itself"));
                    }
                    if caches[at].backend != cache.backend {
                        return Err(self.at(
                            spanned,
                            &members_field,
                            format!(
                                "{:?} is on backend {:?}, this cache on {:?}; members must be on the same backend",
                                member.as_str(),
                                caches[at].backend,
                                cache.backend
                            ),
                        ));
                    }
                    member_formats.push((member, formats[at]));
                }
                if member_formats.iter().any(|(_, f)| f.is_none()) {
                    continue;
                }
                let first = member_formats[0].1;
                if let Some((odd, format)) = member_formats.iter().find(|(_, f)| *f != first) {
                    return Err(self.at(
                        spanned,
                        &members_field,
                        format!(
                            "{:?} serves {} but {:?} serves {}; members must serve one format",
                            member_formats[0].0.as_str(),
                            first.map(|f| f.to_string()).unwrap_or_default(),
                            odd.as_str(),
                            format.map(|f| f.to_string()).unwrap_or_default()
                        ),
                    ));
                }
                formats[index] = first;
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        for (index, cache) in caches.iter_mut().enumerate() {
            let Some(format) = formats[index] else {
                let spanned = raw[index].get_ref().members.as_ref();
                return Err(ConfigError {
                    file: self.file.to_owned(),
                    line: spanned
                        .map(|s| locate::line_of(self.text, s.span().start))
                        .unwrap_or(cache.line),
                    field: format!("caches[{index}].members"),
                    problem: "the members lead back to this cache; aggregates may not form a cycle"
                        .to_owned(),
                });
            };
            cache.format = format;
            if let Some(wanted) = &raw[index].get_ref().format {
                let allowed = match wanted.get_ref().as_str() {
                    "docker" => Some(PackageFormat::Docker),
                    "apk" => Some(PackageFormat::Apk),
                    _ => None,
                };
                match allowed {
                    None => {
                        return Err(self.at(
                            wanted,
                            format!("caches[{index}].format"),
                            format!(
                                "{:?} is not a format; allowed: \"docker\", \"apk\"",
                                wanted.get_ref()
                            ),
                        ));
                    }
                    Some(given) if given != format => {
                        return Err(self.at(wanted, format!("caches[{index}].format"), format!("is {given} but the cache serves {format}, as its upstream or members do")));
                    }
                    Some(_) => {}
                }
            }
            if let Some(probe) = &raw[index].get_ref().probe {
                cache.probe = Some(self.probe(probe, &format!("caches[{index}].probe"), format)?);
            }
        }
        Ok(())
    }
}

fn quoted(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let names: Vec<String> = names
        .into_iter()
        .map(|n| format!("{:?}", n.as_ref()))
        .collect();
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
}

/// Splits a Docker probe into the image path and the reference to fetch (the digest when
/// there is one, else the tag, else `latest`), checking it by the grammar of the
/// distribution project's reference package (`distribution/reference`, `reference.go`):
///
/// ```text
/// reference       := name [ ":" tag ] [ "@" digest ]
/// name            := path-component [ "/" path-component ]*
/// path-component  := alpha-numeric [ separator alpha-numeric ]*
/// alpha-numeric   := /[a-z0-9]+/
/// separator       := /[_.]|__|[-]+/
/// tag             := /[\w][\w.-]{0,127}/
/// digest          := "sha256:" /[0-9a-f]{64}/   (the one algorithm registries serve)
/// ```
///
/// The probe is a path below the cache, so the grammar's domain part has no place here.
/// The error is the rule broken.
fn image_reference(text: &str) -> Result<(&str, &str), String> {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) => (name, Some(tag)),
        None => (rest, None),
    };
    for component in name.split('/') {
        if !path_component(component) {
            return Err(format!(
                "the path component {component:?} breaks [a-z0-9]+ joined by '.', '_', '__' \
                 or '-' (one or more), components separated by '/'"
            ));
        }
    }
    if let Some(tag) = tag {
        let valid = tag.len() <= 128
            && tag
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(format!(
                "the tag {tag:?} breaks [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"
            ));
        }
    }
    if let Some(digest) = digest {
        let valid = digest.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        });
        if !valid {
            return Err(format!(
                "the digest {digest:?} breaks sha256:[0-9a-f]{{64}}"
            ));
        }
    }
    Ok((name, digest.or(tag).unwrap_or("latest")))
}

/// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__`, or one or more `-`.
fn path_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes: Vec<char> = component.chars().collect();
    let mut i = 0;
    let mut runs = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        runs += 1;
        if i == bytes.len() {
            break;
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator: String = bytes[sep_start..i].iter().collect();
        let allowed =
            matches!(separator.as_str(), "." | "_" | "__") || separator.chars().all(|c| c == '-');
        if !allowed || i == bytes.len() {
            return false;
        }
    }
    runs > 0
}
