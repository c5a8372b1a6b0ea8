//! The state every Chainguard fake shares: organizations, roles, identities, bindings,
//! and the tokens the STS minted.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::random_hex;

pub(crate) const PULL_TOKEN_ISSUER: &str = "https://pulltoken.issuer.chainguard.dev";
pub(crate) const ISSUER: &str = "https://issuer.enforce.dev";

/// The built-in roles: name, root-level id, capabilities.
pub(crate) const ROLES: &[(&str, &str, &[&str])] = &[
    (
        "owner",
        "1c5a0fd36e6ba7e8a5b3f4b6d9c2e1f0a7b8c9d0",
        &[
            "groups.list",
            "roles.list",
            "identity.create",
            "identity.list",
            "identity.update",
            "identity.delete",
            "role_bindings.create",
            "role_bindings.list",
            "role_bindings.delete",
            "repo.list",
            "repo.blobs.get",
            "manifest.list",
            "tag.list",
            "apk.list",
            "apk.blobs.get",
        ],
    ),
    (
        "viewer",
        "63921b2c44617e3f2603851537be0123af4a57d7",
        &[
            "groups.list",
            "roles.list",
            "identity.list",
            "role_bindings.list",
            "repo.list",
            "repo.blobs.get",
            "manifest.list",
            "tag.list",
            "apk.list",
            "apk.blobs.get",
        ],
    ),
    (
        "registry.pull",
        "2a9b6e6c3d1f4e8a9b0c7d6e5f4a3b2c1d0e9f8a",
        &[
            "repo.blobs.get",
            "groups.list",
            "repo.list",
            "manifest.list",
            "referrers.list",
            "tag.list",
            "manifest.metadata.list",
        ],
    ),
    (
        "apk.pull",
        "7a5cd2b0a1f56d7b2e7c8b16d1f6e3a2c4b5d6e7",
        &["apk.blobs.get", "groups.list", "apk.list"],
    ),
];

/// A token the STS minted: who, for what audience, with which roles (fixed at minting,
/// as Chainguard's capabilities are).
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    pub(crate) subject: String,
    pub(crate) audience: String,
    pub(crate) roles: Vec<(String, String)>,
    pub(crate) expires: SystemTime,
    /// For registry tokens: the one repository they are for.
    pub(crate) scope: Option<String>,
}

/// `Debug` counts what holds tokens (minted tokens are keyed by themselves) instead of
/// showing it.
pub(crate) struct State {
    pub(crate) org_id: String,
    pub(crate) org_name: String,
    /// Identities by id, as the API returns them.
    pub(crate) identities: HashMap<String, Value>,
    /// Bindings by id: (identity, role id).
    pub(crate) bindings: HashMap<String, (String, String)>,
    pub(crate) minted: HashMap<String, Minted>,
    pub(crate) refresh_tokens: HashMap<String, String>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("org_id", &self.org_id)
            .field("org_name", &self.org_name)
            .field("identities", &self.identities.len())
            .field("bindings", &self.bindings.len())
            .field("minted", &self.minted.len())
            .field("refresh_tokens", &self.refresh_tokens.len())
            .finish()
    }
}

/// The shared world.
pub(crate) struct World {
    state: Mutex<State>,
    pub(crate) admin_token: String,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is keyed by the tokens it minted; none of it may reach a log.
        f.debug_struct("World").finish_non_exhaustive()
    }
}

pub(crate) fn role_name(id: &str) -> Option<&'static str> {
    ROLES
        .iter()
        .find(|(_, role_id, _)| *role_id == id)
        .map(|(name, _, _)| *name)
}

pub(crate) fn capabilities(role: &str) -> &'static [&'static str] {
    ROLES
        .iter()
        .find(|(name, _, _)| *name == role)
        .map(|(_, _, caps)| *caps)
        .unwrap_or(&[])
}

impl World {
    pub(crate) fn new(org_name: &str) -> World {
        let org_id = random_hex(20);
        let admin = random_hex(20);
        let mut state = State {
            org_id: org_id.clone(),
            org_name: org_name.to_owned(),
            identities: HashMap::new(),
            bindings: HashMap::new(),
            minted: HashMap::new(),
            refresh_tokens: HashMap::new(),
        };
        let admin_token = mint_into(
            &mut state,
            &admin,
            crate::chainguard::CONSOLE_AUDIENCE,
            vec![(org_id, "owner".to_owned())],
            None,
        );
        World {
            state: Mutex::new(state),
            admin_token,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets everything but the organization and the admin token.
    pub(crate) fn reset(&self) {
        let mut state = self.lock();
        state.identities.clear();
        state.bindings.clear();
        let admin = self.admin_token.clone();
        state.minted.retain(|token, _| *token == admin);
        state.refresh_tokens.clear();
    }
}

/// A token shaped like a JWT (the clients read its `exp`); the fakes recognise it by
/// looking it up, so its signature is random bytes.
pub(crate) fn mint_into(
    state: &mut State,
    subject: &str,
    audience: &str,
    roles: Vec<(String, String)>,
    scope: Option<String>,
) -> String {
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let exp = expires
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = BASE64_URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = BASE64_URL_SAFE_NO_PAD
        .encode(json!({"iss": ISSUER, "sub": subject, "aud": audience, "exp": exp}).to_string());
    let token = format!("{header}.{payload}.{}", random_hex(32));
    state.minted.insert(
        token.clone(),
        Minted {
            subject: subject.to_owned(),
            audience: audience.to_owned(),
            roles,
            expires,
            scope,
        },
    );
    token
}

impl State {
    /// The roles an identity holds now, by its bindings: (group, role name).
    pub(crate) fn roles_of(&self, identity: &str) -> Vec<(String, String)> {
        self.bindings
            .values()
            .filter(|(who, _)| who == identity)
            .filter_map(|(_, role)| {
                role_name(role).map(|name| (self.org_id.clone(), name.to_owned()))
            })
            .collect()
    }

    /// A minted token, if it is still valid and for `audience`.
    pub(crate) fn token(&self, token: &str, audience: &str) -> Option<&Minted> {
        self.minted
            .get(token)
            .filter(|minted| minted.audience == audience && minted.expires > SystemTime::now())
    }

    /// Verifies a pull-token JWT against its identity's registered keys, expiry and
    /// audience; returns the identity id.
    pub(crate) fn verify_pull_token(&self, jwt: &str) -> Result<String, String> {
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Err("not a JWT".to_owned());
        };
        let claims: Value = BASE64_URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or("the JWT payload is not JSON")?;
        if claims["iss"] != PULL_TOKEN_ISSUER {
            return Err("not a pull token".to_owned());
        }
        let subject = claims["sub"].as_str().unwrap_or_default();
        let (id, identity) = self
            .identities
            .iter()
            .find(|(_, identity)| identity["static"]["subject"] == subject)
            .ok_or("no identity has this subject (revoked?)")?;
        let now = SystemTime::now();
        let expiration = identity["static"]["expiration"]
            .as_str()
            .unwrap_or_default();
        let identity_expired = humantime::parse_rfc3339_weak(expiration)
            .map(|at| at <= now)
            .unwrap_or(true);
        let exp = claims["exp"]
            .as_u64()
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        if identity_expired || exp.is_none_or(|exp| exp <= now) {
            return Err("verifying token: oidc: token is expired".to_owned());
        }
        let audience_ok = claims["aud"]
            .as_array()
            .is_some_and(|aud| aud.iter().any(|a| a == ISSUER))
            || claims["aud"] == ISSUER;
        if !audience_ok {
            return Err("the token's audience is not https://issuer.enforce.dev".to_owned());
        }
        let keys: Value =
            serde_json::from_str(identity["static"]["issuerKeys"].as_str().unwrap_or("{}"))
                .map_err(|_| "the identity's issuerKeys are not JSON")?;
        let signature = BASE64_URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "bad signature encoding")?;
        let message = format!("{header}.{payload}");
        let verified = keys["keys"].as_array().into_iter().flatten().any(|key| {
            let decode = |field: &str| {
                key[field]
                    .as_str()
                    .and_then(|v| BASE64_URL_SAFE_NO_PAD.decode(v).ok())
            };
            match (decode("n"), decode("e")) {
                (Some(n), Some(e)) => RsaPublicKeyComponents { n, e }
                    .verify(&RSA_PKCS1_2048_8192_SHA256, message.as_bytes(), &signature)
                    .is_ok(),
                _ => false,
            }
        });
        if !verified {
            return Err("verifying token: failed to verify signature".to_owned());
        }
        Ok(id.clone())
    }
}
