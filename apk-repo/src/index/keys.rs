//! Trusted signing keys, by the file name apk looks them up by.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::RsaPublicKeyComponents;
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;

use super::IndexError;

/// The public keys signatures are checked against, each under the file name apk uses
/// (`alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`,
/// `chainguard-<sha256>.rsa.pub`). Keys are DER (`SubjectPublicKeyInfo` or PKCS#1).
///
/// ```
/// use apk_repo::index::Keyring;
/// let keyring = Keyring::new();
/// assert!(keyring.is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Keyring {
    /// File name -> (PEM tag the key came with, DER).
    keys: BTreeMap<String, (String, Vec<u8>)>,
}

impl Keyring {
    /// An empty keyring.
    ///
    /// ```
    /// assert_eq!(apk_repo::index::Keyring::new().names().count(), 0);
    /// ```
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Every `*.pub` file of a folder (such as `/etc/apk/keys`), each under its file name.
    /// Files that are not PEM public keys are skipped.
    ///
    /// # Errors
    ///
    /// [`IndexError::Keys`] when the folder cannot be read.
    ///
    /// ```no_run
    /// let keyring = apk_repo::index::Keyring::from_dir("/etc/apk/keys".as_ref())?;
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn from_dir(dir: &Path) -> Result<Keyring, IndexError> {
        let unreadable = |err: std::io::Error| IndexError::Keys {
            problem: format!("cannot read the keys folder {}: {err}", dir.display()),
        };
        let mut keyring = Keyring::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".pub") || !entry.path().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).map_err(unreadable)?;
            // A non-key file in the folder is not our concern; apk skips it too.
            let _ = keyring.add_pem(&name, &text);
        }
        Ok(keyring)
    }

    /// Adds a PEM public key (`-----BEGIN PUBLIC KEY-----` or
    /// `-----BEGIN RSA PUBLIC KEY-----`) under `name`.
    ///
    /// # Errors
    ///
    /// [`IndexError::Keys`] when the text is not such a PEM block.
    ///
    /// ```
    /// let mut keyring = apk_repo::index::Keyring::new();
    /// assert!(keyring.add_pem("x.rsa.pub", "not a key").is_err());
    /// ```
    pub fn add_pem(&mut self, name: &str, pem_text: &str) -> Result<(), IndexError> {
        let block = pem::parse(pem_text).map_err(|err| IndexError::Keys {
            problem: format!("{name} is not a PEM key: {err}"),
        })?;
        if !matches!(block.tag(), "PUBLIC KEY" | "RSA PUBLIC KEY") {
            return Err(IndexError::Keys {
                problem: format!("{name} holds a {} block, not a public key", block.tag()),
            });
        }
        let tag = block.tag().to_owned();
        self.keys
            .insert(name.to_owned(), (tag, block.into_contents()));
        Ok(())
    }

    /// Adds the RSA keys of a JWKS document (what `<repo>/apk-configuration` points at),
    /// each as `<kid>.rsa.pub`; returns the names added.
    ///
    /// # Errors
    ///
    /// [`IndexError::Keys`] for a document that is not a JWKS or an RSA key whose `n`/`e`
    /// do not decode.
    ///
    /// ```
    /// let mut keyring = apk_repo::index::Keyring::new();
    /// let added = keyring.add_jwks(br#"{"keys":[{"kty":"EC","kid":"x","crv":"P-256"}]}"#)?;
    /// assert!(added.is_empty(), "only RSA keys sign APK indexes");
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn add_jwks(&mut self, document: &[u8]) -> Result<Vec<String>, IndexError> {
        #[derive(serde::Deserialize)]
        struct Jwks {
            keys: Vec<Jwk>,
        }
        #[derive(serde::Deserialize)]
        struct Jwk {
            kty: String,
            kid: Option<String>,
            n: Option<String>,
            e: Option<String>,
        }
        let jwks: Jwks = serde_json::from_slice(document).map_err(|err| IndexError::Keys {
            problem: format!("the key set is not a JWKS document: {err}"),
        })?;
        let mut added = Vec::new();
        for key in jwks.keys.into_iter().filter(|key| key.kty == "RSA") {
            let bad = |what: &str| IndexError::Keys {
                problem: format!("JWKS key {:?}: {what}", key.kid.as_deref().unwrap_or("?")),
            };
            let kid = key
                .kid
                .clone()
                .ok_or_else(|| bad("has no kid to name it by"))?;
            let decode = |field: &Option<String>| {
                field
                    .as_deref()
                    .and_then(|text| BASE64_URL_SAFE_NO_PAD.decode(text).ok())
            };
            let (n, e) = match (decode(&key.n), decode(&key.e)) {
                (Some(n), Some(e)) => (n, e),
                _ => return Err(bad("n and e must be base64url")),
            };
            let der = RsaPublicKeyComponents {
                n: &n[..],
                e: &e[..],
            }
            .as_der()
            .map_err(|_| bad("n and e do not form an RSA key"))?;
            let name = format!("{kid}.rsa.pub");
            self.keys.insert(
                name.clone(),
                ("PUBLIC KEY".to_owned(), der.as_ref().to_vec()),
            );
            added.push(name);
        }
        Ok(added)
    }

    /// The key apk would use for a signature naming `key_name`: that file name, or, as
    /// apko also accepts, the name without its `.rsa.pub` ending.
    pub(crate) fn find(&self, key_name: &str) -> Option<&[u8]> {
        self.keys
            .get(key_name)
            .or_else(|| {
                key_name
                    .strip_suffix(".rsa.pub")
                    .and_then(|bare| self.keys.get(bare))
            })
            .map(|(_, der)| der.as_slice())
    }

    /// The names of the keys.
    ///
    /// ```
    /// # let keyring = apk_repo::index::Keyring::new();
    /// for name in keyring.names() { println!("{name}"); }
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Whether there are no keys.
    ///
    /// ```
    /// assert!(apk_repo::index::Keyring::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A key as a PEM `PUBLIC KEY` block, to write to a keys folder.
    ///
    /// ```
    /// assert_eq!(apk_repo::index::Keyring::new().to_pem("missing.rsa.pub"), None);
    /// ```
    pub fn to_pem(&self, name: &str) -> Option<String> {
        let (tag, der) = self.keys.get(name)?;
        Some(pem::encode(&pem::Pem::new(tag.clone(), der.clone())))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.keys()).finish()
    }
}
