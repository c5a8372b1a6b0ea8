//! A secret's IAM policy: `:getIamPolicy` and `:setIamPolicy` with an etag, as IAM does
//! them. A policy never set answers `{"etag": "ACAB"}` (Google's empty policy); every set
//! makes a new etag; a set carrying another etag than the current one is refused with 409
//! `ABORTED`, so clients must read, modify and write again. Roles must apply to a secret,
//! members must be well-formed, and a project's Artifact Registry service agent must be
//! one of a known project.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::envelope::{Query, Refusal};
use super::messages::SET_IAM_POLICY;
use super::state::Policy;
use super::{Fake, schema};

/// The etag of a policy never set (`ACAB` in base64).
const EMPTY_ETAG: [u8; 3] = [0x00, 0x20, 0x01];

/// Roles that can be granted on a secret.
const SECRET_ROLES: &[&str] = &[
    "roles/secretmanager.admin",
    "roles/secretmanager.secretAccessor",
    "roles/secretmanager.secretVersionAdder",
    "roles/secretmanager.secretVersionManager",
    "roles/secretmanager.viewer",
    "roles/owner",
    "roles/editor",
    "roles/viewer",
];

fn policy_json(policy: &Policy) -> Value {
    let Some(etag) = &policy.etag else {
        return json!({"etag": base64::prelude::BASE64_STANDARD.encode(EMPTY_ETAG)});
    };
    let mut out = json!({
        "version": policy.version,
        "etag": base64::prelude::BASE64_STANDARD.encode(etag),
    });
    if !policy.bindings.is_empty() {
        out["bindings"] = Value::Array(policy.bindings.clone());
    }
    if !policy.audit_configs.is_empty() {
        out["auditConfigs"] = Value::Array(policy.audit_configs.clone());
    }
    out
}

fn not_found(key: &(String, String)) -> Refusal {
    Refusal::not_found(format!(
        "Secret [projects/{}/secrets/{}] not found.",
        key.0, key.1
    ))
}

/// `GET v1/projects/{p}/secrets/{s}:getIamPolicy[?options.requestedPolicyVersion=]`.
pub(crate) fn get(
    fake: &Fake,
    key: &(String, String),
    query: &Query,
) -> Result<axum::response::Response, Refusal> {
    match query.get("options.requestedPolicyVersion") {
        None | Some("" | "0" | "1" | "3") => {}
        Some(other) => {
            return Err(Refusal::invalid_field(
                "options.requested_policy_version",
                format!("Invalid requested policy version {other}: 0, 1 or 3."),
            ));
        }
    }
    let state = fake.lock();
    let secret = state.secrets.get(key).ok_or_else(|| not_found(key))?;
    Ok(query.answer(policy_json(&secret.policy)))
}

fn is_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.contains(char::is_whitespace)
    })
}

/// Checks one member the way IAM does: its kind prefix and its shape, and that an
/// Artifact Registry service agent is one of a project the sandbox knows.
fn check_member(fake: &Fake, member: &str) -> Result<(), Refusal> {
    let ok = match member.split_once(':') {
        None => matches!(member, "allUsers" | "allAuthenticatedUsers"),
        Some(("user" | "group", email)) => is_email(email),
        Some(("serviceAccount", email)) => {
            if let Some(number) = email.strip_prefix("service-").and_then(|rest| {
                rest.strip_suffix("@gcp-sa-artifactregistry.iam.gserviceaccount.com")
            }) {
                if fake.project(number).is_none_or(|p| p.number != number) {
                    return Err(Refusal::invalid(format!(
                        "Service account {email} does not exist."
                    )));
                }
            }
            is_email(email)
        }
        Some(("domain", domain)) => domain.contains('.'),
        Some(("deleted", rest)) => !rest.is_empty(),
        Some(("principal" | "principalSet", rest)) => rest.starts_with("//"),
        Some(("projectOwner" | "projectEditor" | "projectViewer", project)) => !project.is_empty(),
        Some(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Refusal::invalid_field(
            "policy.bindings.members",
            format!(
                "Invalid member \"{member}\": user:, group:, serviceAccount:, domain:, principal:// or allUsers."
            ),
        ))
    }
}

fn check_role(role: &str) -> Result<(), Refusal> {
    let custom = {
        let parts: Vec<&str> = role.split('/').collect();
        matches!(parts.as_slice(), ["projects" | "organizations", owner, "roles", name] if !owner.is_empty() && !name.is_empty())
    };
    if SECRET_ROLES.contains(&role) || custom {
        Ok(())
    } else {
        Err(Refusal::invalid_field(
            "policy.bindings.role",
            format!("Role {role} is not supported for this resource."),
        ))
    }
}

/// The bindings to store: checked, members deduplicated, unconditional bindings of one
/// role merged, bindings without members dropped (what IAM keeps of what it is given).
fn normalize_bindings(
    fake: &Fake,
    bindings: &[Value],
    version: i64,
) -> Result<Vec<Value>, Refusal> {
    let mut out: Vec<Map<String, Value>> = Vec::new();
    for binding in bindings {
        let role = binding
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        check_role(role)?;
        let condition = binding.get("condition").cloned();
        if condition.is_some() && version < 3 {
            return Err(Refusal::invalid_field(
                "policy.version",
                "A binding with a condition needs policy version 3.",
            ));
        }
        let members: Vec<String> = binding
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        for member in &members {
            check_member(fake, member)?;
        }
        let existing = out.iter_mut().find(|b| {
            b.get("role").and_then(Value::as_str) == Some(role)
                && b.get("condition") == condition.as_ref()
        });
        let target = match existing {
            Some(target) => target,
            None => {
                let mut fresh = Map::new();
                fresh.insert("role".to_owned(), role.into());
                fresh.insert("members".to_owned(), Value::Array(Vec::new()));
                if let Some(condition) = &condition {
                    fresh.insert("condition".to_owned(), condition.clone());
                }
                out.push(fresh);
                out.last_mut().expect("just pushed")
            }
        };
        if let Some(Value::Array(list)) = target.get_mut("members") {
            for member in members {
                if !list.iter().any(|m| m.as_str() == Some(&member)) {
                    list.push(member.into());
                }
            }
        }
    }
    Ok(out
        .into_iter()
        .filter(|b| {
            b.get("members")
                .and_then(Value::as_array)
                .is_some_and(|m| !m.is_empty())
        })
        .map(Value::Object)
        .collect())
}

/// `POST v1/projects/{p}/secrets/{s}:setIamPolicy` body `{"policy": {...}, "updateMask"?}`.
pub(crate) fn set(
    fake: &Fake,
    key: &(String, String),
    body: &Value,
    query: &Query,
) -> Result<axum::response::Response, Refusal> {
    let request = schema::parse(body, &SET_IAM_POLICY, "")?;
    let Some(policy) = request.get("policy") else {
        return Err(Refusal::invalid_field(
            "policy",
            "Field [policy] is required.",
        ));
    };
    let mask: Vec<String> = match request.get("updateMask").and_then(Value::as_str) {
        None | Some("") => vec!["bindings".to_owned(), "etag".to_owned()],
        Some(mask) => mask.split(',').map(|p| schema::snake(p.trim())).collect(),
    };
    if let Some(bad) = mask.iter().find(|p| {
        !matches!(
            p.as_str(),
            "bindings" | "etag" | "audit_configs" | "version"
        )
    }) {
        return Err(Refusal::invalid_field(
            "update_mask",
            format!("Invalid update_mask path \"{bad}\" for a policy."),
        ));
    }
    let version = match policy.get("version").and_then(Value::as_i64).unwrap_or(0) {
        0 | 1 => 1,
        3 => 3,
        other => {
            return Err(Refusal::invalid_field(
                "policy.version",
                format!("Invalid policy version {other}: 1 or 3."),
            ));
        }
    };
    let given = |name: &str| {
        policy
            .get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let bindings = normalize_bindings(fake, &given("bindings"), version)?;
    let mut state = fake.lock();
    let secret = state.secrets.get_mut(key).ok_or_else(|| not_found(key))?;
    let current = secret
        .policy
        .etag
        .clone()
        .unwrap_or_else(|| EMPTY_ETAG.to_vec());
    if let Some(etag) = policy.get("etag").and_then(Value::as_str) {
        let etag = schema::decode_bytes(etag).unwrap_or_default();
        if etag != current {
            return Err(Refusal::aborted(
                "There were concurrent policy changes. Please retry the whole read-modify-write \
                 with exponential backoff. The request's ETag does not match the policy's.",
            ));
        }
    }
    // IAM etags are 8 bytes starting 07 06 (`BwY...` in base64), the rest changing.
    let mut etag = vec![0u8; 8];
    let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut etag);
    etag[0] = 0x07;
    etag[1] = 0x06;
    let masked = |name: &str| mask.iter().any(|p| p == name);
    let policy_state = &mut secret.policy;
    if masked("bindings") {
        policy_state.bindings = bindings;
    }
    if masked("audit_configs") {
        policy_state.audit_configs = given("auditConfigs");
    }
    policy_state.version = version;
    policy_state.etag = Some(etag);
    Ok(query.answer(policy_json(policy_state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_policy_is_acab() {
        assert_eq!(policy_json(&Policy::default()), json!({"etag": "ACAB"}));
    }

    #[test]
    fn roles_must_apply_to_secrets() {
        assert!(check_role("roles/secretmanager.secretAccessor").is_ok());
        assert!(check_role("projects/p/roles/custom").is_ok());
        assert!(check_role("roles/storage.admin").is_err());
        assert!(check_role("secretAccessor").is_err());
    }
}
