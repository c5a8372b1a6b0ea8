//! Pull tokens: a static identity, a role binding, and a JWT signed by a key made on the
//! spot and thrown away.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use pull_through_core::{
    Error, ExposeSecret, PullTokenRole, SecretString, Sensitive, UpstreamCredentials,
    ValidationError,
};

use crate::model::PULL_TOKEN_ISSUER;

/// The audience a pull-token JWT carries.
///
/// ```
/// assert_eq!(chainguard_client::PULL_TOKEN_AUDIENCE, "https://issuer.enforce.dev");
/// ```
pub const PULL_TOKEN_AUDIENCE: &str = "https://issuer.enforce.dev";
/// chainctl's default time to live: 720 hours.
///
/// ```
/// assert_eq!(chainguard_client::DEFAULT_TTL.as_secs(), 720 * 3600);
/// ```
pub const DEFAULT_TTL: Duration = Duration::from_secs(720 * 3600);
/// The longest time to live: 8760 hours.
///
/// ```
/// assert_eq!(chainguard_client::MAX_TTL.as_secs(), 8760 * 3600);
/// ```
pub const MAX_TTL: Duration = Duration::from_secs(8760 * 3600);

/// What to create.
///
/// ```
/// use chainguard_client::PullTokenOptions;
/// use pull_through_core::PullTokenRole;
/// let options = PullTokenOptions::new(PullTokenRole::ApkPull)
///     .with_name("cg-private cache")
///     .with_ttl(std::time::Duration::from_secs(90 * 24 * 3600))?;
/// assert_eq!(options.ttl.as_secs(), 90 * 24 * 3600);
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullTokenOptions {
    /// The role bound to the identity: `registry.pull` or `apk.pull`.
    pub role: PullTokenRole,
    /// The identity's name (default `pull-token`).
    pub name: String,
    /// The identity's description.
    pub description: String,
    /// How long the token lives (default 720 h, at most 8760 h).
    pub ttl: Duration,
}

impl PullTokenOptions {
    /// A token for `role` with chainctl's defaults.
    ///
    /// ```
    /// let options = chainguard_client::PullTokenOptions::new(pull_through_core::PullTokenRole::RegistryPull);
    /// assert_eq!(options.name, "pull-token");
    /// ```
    pub fn new(role: PullTokenRole) -> PullTokenOptions {
        PullTokenOptions {
            role,
            name: "pull-token".to_owned(),
            description: String::new(),
            ttl: DEFAULT_TTL,
        }
    }

    /// Sets the identity's name (Chainguard names: lowercase letters, digits, ` ._-`).
    ///
    /// ```
    /// let options = chainguard_client::PullTokenOptions::new(pull_through_core::PullTokenRole::ApkPull)
    ///     .with_name("artifactory cg-private");
    /// ```
    pub fn with_name(mut self, name: impl Into<String>) -> PullTokenOptions {
        self.name = name.into();
        self
    }

    /// Sets the identity's description.
    ///
    /// ```
    /// let options = chainguard_client::PullTokenOptions::new(pull_through_core::PullTokenRole::ApkPull)
    ///     .with_description("used by the cg-private remote");
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> PullTokenOptions {
        self.description = description.into();
        self
    }

    /// Sets the time to live.
    ///
    /// # Errors
    ///
    /// [`ValidationError::InvalidValue`] for zero or more than 8760 hours.
    ///
    /// ```
    /// let err = chainguard_client::PullTokenOptions::new(pull_through_core::PullTokenRole::ApkPull)
    ///     .with_ttl(std::time::Duration::from_secs(400 * 24 * 3600))
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("8760h"));
    /// ```
    pub fn with_ttl(mut self, ttl: Duration) -> Result<PullTokenOptions, ValidationError> {
        check_ttl(ttl)?;
        self.ttl = ttl;
        Ok(self)
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        // `ttl` is a public field, so it is checked again before any request.
        check_ttl(self.ttl)?;
        self.check_name()
    }

    fn check_name(&self) -> Result<(), ValidationError> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || " ._-".contains(c));
        if !name_ok {
            return Err(ValidationError::InvalidName {
                what: "Chainguard identity name".to_owned(),
                name: self.name.clone(),
                rule:
                    "use lowercase letters, digits, spaces, '.', '_' and '-' (^[a-z0-9 ._-]{1,}$)"
                        .to_owned(),
            });
        }
        Ok(())
    }
}

fn check_ttl(ttl: Duration) -> Result<(), ValidationError> {
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(ValidationError::InvalidValue {
            field: "ttl".to_owned(),
            problem: format!(
                "{} is outside what Chainguard accepts; give 1s to 8760h (365 days)",
                humantime::format_duration(ttl)
            ),
        });
    }
    Ok(())
}

/// A new pull token: the identity id is the username, the JWT the password. The JWT is
/// shown once; `Debug` and `Display` never show it.
///
/// ```no_run
/// # async fn example(client: &chainguard_client::ChainguardClient, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
/// use chainguard_client::PullTokenOptions;
/// use pull_through_core::PullTokenRole;
/// let token = client.create_pull_token(org, PullTokenOptions::new(PullTokenRole::RegistryPull)).await?;
/// println!("{}", token.docker_login().shown());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PullToken {
    /// The identity's UIDP (the username).
    pub identity_id: String,
    /// The JWT (the password).
    pub token: SecretString,
    /// When it stops working.
    pub expires_at: SystemTime,
    /// The role bound to it.
    pub role: PullTokenRole,
}

impl fmt::Debug for PullToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PullToken")
            .field("identity_id", &self.identity_id)
            .field("token", &pull_through_core::redact::REDACTED)
            .field(
                "expires_at",
                &humantime::format_rfc3339_seconds(self.expires_at),
            )
            .field("role", &self.role)
            .finish()
    }
}

impl PullToken {
    /// The credentials a cache presents to its upstream.
    ///
    /// # Errors
    ///
    /// Never for a token the client made; the check is the core's.
    ///
    /// ```
    /// # fn example(token: &chainguard_client::PullToken) -> Result<(), pull_through_core::ValidationError> {
    /// let credentials = token.credentials()?;
    /// assert_eq!(credentials.username(), token.identity_id);
    /// # Ok(()) }
    /// ```
    pub fn credentials(&self) -> Result<UpstreamCredentials, ValidationError> {
        UpstreamCredentials::new(self.identity_id.clone(), self.token.clone())
    }

    /// `chainctl -o env`: `CHAINGUARD_IDENTITY_ID=...` and `CHAINGUARD_TOKEN=...` lines.
    ///
    /// ```
    /// # fn example(token: &chainguard_client::PullToken) {
    /// println!("{}", token.env_lines()); // CHAINGUARD_TOKEN=[not shown]
    /// # }
    /// ```
    pub fn env_lines(&self) -> Sensitive {
        Sensitive::new(
            format!(
                "CHAINGUARD_IDENTITY_ID={}\nCHAINGUARD_TOKEN=[not shown]",
                self.identity_id
            ),
            format!(
                "CHAINGUARD_IDENTITY_ID={}\nCHAINGUARD_TOKEN={}",
                self.identity_id,
                self.token.expose_secret()
            ),
        )
    }

    /// chainctl's default output: `docker login "cgr.dev" --username "<id>" --password "<jwt>"`;
    /// shown with `"$CHAINGUARD_TOKEN"` for the password.
    ///
    /// ```
    /// # fn example(token: &chainguard_client::PullToken) {
    /// println!("{}", token.docker_login().shown()); // --password "$CHAINGUARD_TOKEN"
    /// # }
    /// ```
    pub fn docker_login(&self) -> Sensitive {
        let line = |password: &str| {
            format!(
                "docker login \"cgr.dev\" --username \"{}\" --password {password}",
                self.identity_id
            )
        };
        Sensitive::new(
            line("\"$CHAINGUARD_TOKEN\""),
            line(&format!("\"{}\"", self.token.expose_secret())),
        )
    }

    /// `chainctl -o json`: `{"identity_id": ..., "token": ...}`.
    ///
    /// ```
    /// # fn example(token: &chainguard_client::PullToken) {
    /// let document: serde_json::Value = serde_json::from_str(token.json().expose()).unwrap();
    /// # }
    /// ```
    pub fn json(&self) -> Sensitive {
        Sensitive::new(
            serde_json::json!({"identity_id": self.identity_id, "token": "[not shown]"}).to_string(),
            serde_json::json!({"identity_id": self.identity_id, "token": self.token.expose_secret()})
                .to_string(),
        )
    }
}

/// A key pair made for one pull token; its private half never leaves this process.
pub(crate) struct Signer {
    key_pair: RsaKeyPair,
}

impl Signer {
    pub(crate) fn generate(size: KeySize) -> Result<Signer, Error> {
        let key_pair =
            RsaKeyPair::generate(size).map_err(|_| internal("could not generate an RSA key"))?;
        Ok(Signer { key_pair })
    }

    /// The JWKS document the identity stores as `issuerKeys`.
    pub(crate) fn jwks(&self) -> String {
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(self.key_pair.public_key());
        serde_json::json!({"keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": BASE64_URL_SAFE_NO_PAD.encode(&components.n),
            "e": BASE64_URL_SAFE_NO_PAD.encode(&components.e),
        }]})
        .to_string()
    }

    /// An RS256 JWT with the pull-token claims.
    pub(crate) fn sign(
        &self,
        subject: &str,
        issued: SystemTime,
        expires: SystemTime,
    ) -> Result<SecretString, Error> {
        let seconds = |time: SystemTime| {
            time.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        let header = BASE64_URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": PULL_TOKEN_ISSUER,
            "sub": subject,
            "aud": [PULL_TOKEN_AUDIENCE],
            "iat": seconds(issued),
            "exp": seconds(expires),
        });
        let payload = BASE64_URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{payload}");
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| internal("could not sign the pull token"))?;
        Ok(SecretString::from(format!(
            "{signing_input}.{}",
            BASE64_URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// A unique subject, `pull-token-<40 hex>`, as Chainguard's own tooling writes it.
pub(crate) fn new_subject() -> Result<String, Error> {
    let mut bytes = [0u8; 20];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| internal("no randomness for the pull token subject"))?;
    Ok(format!(
        "pull-token-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

fn internal(problem: &str) -> Error {
    Error::Unsupported {
        vendor: "chainguard".to_owned(),
        what: "pull token creation on this machine".to_owned(),
        hint: problem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_bounds() {
        let options = PullTokenOptions::new(PullTokenRole::ApkPull);
        assert_eq!(options.ttl, DEFAULT_TTL);
        assert!(options.clone().with_ttl(Duration::ZERO).is_err());
        assert!(
            options
                .clone()
                .with_ttl(MAX_TTL + Duration::from_secs(1))
                .is_err()
        );
        assert!(options.with_ttl(MAX_TTL).is_ok());
    }

    #[test]
    fn names_follow_chainguard_rules() {
        assert!(
            PullTokenOptions::new(PullTokenRole::ApkPull)
                .validate()
                .is_ok()
        );
        let bad = PullTokenOptions::new(PullTokenRole::ApkPull).with_name("Pull Token!");
        assert!(matches!(
            bad.validate(),
            Err(ValidationError::InvalidName { .. })
        ));
    }

    #[test]
    fn the_jwt_verifies_with_the_published_key() {
        use aws_lc_rs::signature::{
            RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents as Components,
        };
        let signer = Signer::generate(KeySize::Rsa2048).unwrap();
        let now = SystemTime::now();
        let jwt = signer.sign("pull-token-x", now, now + DEFAULT_TTL).unwrap();
        let parts: Vec<&str> = jwt.expose_secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&BASE64_URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], PULL_TOKEN_ISSUER);
        assert_eq!(claims["sub"], "pull-token-x");
        assert_eq!(claims["aud"], serde_json::json!([PULL_TOKEN_AUDIENCE]));
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            DEFAULT_TTL.as_secs()
        );
        let jwks: serde_json::Value = serde_json::from_str(&signer.jwks()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(
            (key["kty"].as_str(), key["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
        let n = BASE64_URL_SAFE_NO_PAD
            .decode(key["n"].as_str().unwrap())
            .unwrap();
        let e = BASE64_URL_SAFE_NO_PAD
            .decode(key["e"].as_str().unwrap())
            .unwrap();
        let signature = BASE64_URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        Components { n, e }
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &signature,
            )
            .expect("the signature verifies with the JWKS key");
    }

    #[test]
    fn renderings_hide_the_token_unless_exposed() {
        let token = PullToken {
            identity_id: "0123456789abcdef0123456789abcdef01234567/0123456789abcdef".into(),
            token: SecretString::from("eyJ.secret-jwt.sig"),
            expires_at: SystemTime::UNIX_EPOCH,
            role: PullTokenRole::RegistryPull,
        };
        for text in [
            format!("{token:?}"),
            token.env_lines().to_string(),
            token.docker_login().to_string(),
            token.json().to_string(),
        ] {
            assert!(!text.contains("secret-jwt"), "{text}");
        }
        assert_eq!(
            token.docker_login().expose(),
            "docker login \"cgr.dev\" --username \"0123456789abcdef0123456789abcdef01234567/0123456789abcdef\" --password \"eyJ.secret-jwt.sig\""
        );
        assert_eq!(
            token.env_lines().expose(),
            "CHAINGUARD_IDENTITY_ID=0123456789abcdef0123456789abcdef01234567/0123456789abcdef\nCHAINGUARD_TOKEN=eyJ.secret-jwt.sig"
        );
        let json: serde_json::Value = serde_json::from_str(token.json().expose()).unwrap();
        assert_eq!(json["token"], "eyJ.secret-jwt.sig");
        assert_eq!(new_subject().unwrap().len(), "pull-token-".len() + 40);
    }
}
