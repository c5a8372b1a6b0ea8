//! Writing and signing indexes: for fakes, tests and benchmarks, and for tools that serve
//! their own repositories.
//!
//! Every tar entry is a ustar header with typeflag `'0'` (regular file), owner
//! `root:root`: apk-tools reads only `'0'` and `'7'` as regular files and skips an entry
//! with the old NUL typeflag, so an index written with NUL fails `apk update` with
//! `BAD signature` (`../shared/reference/apk.md` §3.1).

use std::fmt::Write as _;
use std::io::Write as _;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;

use super::{IndexError, Package};

/// The APKINDEX text of packages, fields in the order apk writes them.
///
/// ```
/// use apk_repo::index::{Package, render_records};
/// let mut wget = Package::default();
/// wget.name = "wget".into();
/// wget.version = "1.24.5-r5".into();
/// wget.depends = vec!["so:libc.so.6".into()];
/// assert_eq!(render_records(&[wget]), "P:wget\nV:1.24.5-r5\nD:so:libc.so.6\n\n");
/// ```
pub fn render_records(packages: &[Package]) -> String {
    let mut text = String::new();
    for package in packages {
        let mut field = |letter: char, value: &str| {
            let _ = writeln!(text, "{letter}:{value}");
        };
        let optional = [
            ('C', &package.checksum),
            ('P', &Some(package.name.clone())),
            ('V', &Some(package.version.clone())),
            ('A', &package.arch),
        ];
        for (letter, value) in optional {
            if let Some(value) = value {
                field(letter, value);
            }
        }
        let numbers = [('S', package.size), ('I', package.installed_size)];
        for (letter, value) in numbers {
            if let Some(value) = value {
                field(letter, &value.to_string());
            }
        }
        let texts = [
            ('T', &package.description),
            ('U', &package.url),
            ('L', &package.license),
            ('o', &package.origin),
            ('m', &package.maintainer),
        ];
        for (letter, value) in texts {
            if let Some(value) = value {
                field(letter, value);
            }
        }
        if let Some(time) = package.build_time {
            field('t', &time.to_string());
        }
        if let Some(commit) = &package.commit {
            field('c', commit);
        }
        if let Some(priority) = package.provider_priority {
            field('k', &priority.to_string());
        }
        let lists = [
            ('D', &package.depends),
            ('p', &package.provides),
            ('i', &package.install_if),
        ];
        for (letter, list) in lists {
            if !list.is_empty() {
                field(letter, &list.join(" "));
            }
        }
        for (letter, value) in &package.other {
            field(*letter, value);
        }
        text.push('\n');
    }
    text
}

/// An unsigned `APKINDEX.tar.gz`: one gzip member holding a tar of `DESCRIPTION` and
/// `APKINDEX`, both regular files (ustar typeflag `'0'`), then the end-of-archive blocks.
///
/// ```
/// use apk_repo::index::{ApkIndex, Package, write_index};
/// let mut bash = Package::default();
/// bash.name = "bash".into();
/// bash.version = "5.2.37-r0".into();
/// let bytes = write_index(&[bash], "test repository");
/// let index = ApkIndex::read_unverified(&bytes)?;
/// assert_eq!(index.packages[0].name, "bash");
/// assert_eq!(index.description.as_deref(), Some("test repository"));
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
pub fn write_index(packages: &[Package], description: &str) -> Vec<u8> {
    let mut tar_bytes = Vec::new();
    for (name, body) in [
        ("DESCRIPTION", description.as_bytes()),
        ("APKINDEX", render_records(packages).as_bytes()),
    ] {
        // Both names are short and fixed: the header cannot fail.
        let _ = tar_entry(
            &mut tar_bytes,
            name,
            body,
            tar::EntryType::Regular,
            0o644,
            0,
        );
    }
    // End of archive: two zero blocks.
    tar_bytes.resize(tar_bytes.len() + 1024, 0);
    gzip(&tar_bytes)
}

/// Appends one ustar entry (header, body, padding to 512 bytes) to `out`, as apk-tools
/// reads it: an explicit typeflag (`Regular` is written `'0'`, never NUL), owner
/// `root:root`, uid and gid 0.
pub(crate) fn tar_entry(
    out: &mut Vec<u8>,
    name: &str,
    body: &[u8],
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
) -> Result<(), String> {
    let mut header = tar::Header::new_ustar();
    header
        .set_path(name)
        .map_err(|err| format!("tar entry name {name:?}: {err}"))?;
    header.set_entry_type(kind);
    header.set_size(body.len() as u64);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    for set in [tar::Header::set_username, tar::Header::set_groupname] {
        set(&mut header, "root").map_err(|err| format!("tar owner: {err}"))?;
    }
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    Ok(())
}

/// One gzip member of `bytes` at the default level (flate2 writes a zero mtime, so the
/// output depends only on the input).
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// An RSA key that signs indexes, with the file name apk will look its public half up by.
/// `Debug` shows only the name.
///
/// ```
/// use apk_repo::index::SigningKey;
/// let key = SigningKey::generate("melange.rsa.pub")?;
/// assert!(key.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
/// assert_eq!(format!("{key:?}"), "SigningKey { name: \"melange.rsa.pub\", .. }");
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
pub struct SigningKey {
    name: String,
    key_pair: RsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new 2048-bit key named `name` (such as `example-repo.rsa.pub`).
    ///
    /// # Errors
    ///
    /// [`IndexError::Keys`] if the key cannot be generated.
    ///
    /// ```
    /// let key = apk_repo::index::SigningKey::generate("test.rsa.pub")?;
    /// assert_eq!(key.name(), "test.rsa.pub");
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn generate(name: &str) -> Result<SigningKey, IndexError> {
        let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| IndexError::Keys {
            problem: "could not generate an RSA key".to_owned(),
        })?;
        Ok(SigningKey {
            name: name.to_owned(),
            key_pair,
        })
    }

    /// A key from PKCS#8 DER (what `openssl genpkey` writes, after PEM decoding).
    ///
    /// # Errors
    ///
    /// [`IndexError::Keys`] for DER that is not an RSA private key.
    ///
    /// ```
    /// assert!(apk_repo::index::SigningKey::from_pkcs8("k.rsa.pub", b"junk").is_err());
    /// ```
    pub fn from_pkcs8(name: &str, der: &[u8]) -> Result<SigningKey, IndexError> {
        let key_pair = RsaKeyPair::from_pkcs8(der).map_err(|err| IndexError::Keys {
            problem: format!("{name}: not an RSA PKCS#8 key: {err}"),
        })?;
        Ok(SigningKey {
            name: name.to_owned(),
            key_pair,
        })
    }

    /// The file name signatures name.
    ///
    /// ```
    /// # let key = apk_repo::index::SigningKey::generate("a.rsa.pub")?;
    /// assert!(key.name().ends_with(".rsa.pub"));
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// RSA PKCS#1 v1.5 over the SHA-256 of `message`: the bytes of a `.SIGN.RSA256.`
    /// entry.
    pub(crate) fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, IndexError> {
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| IndexError::Keys {
                problem: format!("could not sign with {}", self.name),
            })?;
        Ok(signature)
    }

    fn components(&self) -> RsaPublicKeyComponents<Vec<u8>> {
        RsaPublicKeyComponents::from(self.key_pair.public_key())
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`), the content of the file apk
    /// keeps in `/etc/apk/keys/<name>`.
    ///
    /// ```
    /// use apk_repo::index::{Keyring, SigningKey};
    /// let key = SigningKey::generate("a.rsa.pub")?;
    /// let mut keyring = Keyring::new();
    /// keyring.add_pem(key.name(), &key.public_key_pem())?;
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn public_key_pem(&self) -> String {
        let der = self
            .components()
            .as_der()
            .map(|der| der.as_ref().to_vec())
            .unwrap_or_default();
        pem::encode(&pem::Pem::new("PUBLIC KEY", der))
    }

    /// The public key as a JWK (`kty`, `alg`, `kid`, `n`, `e`), as `apk.cgr.dev` publishes
    /// keys; `kid` is the name without `.rsa.pub`.
    ///
    /// ```
    /// let key = apk_repo::index::SigningKey::generate("chainguard-abc.rsa.pub")?;
    /// assert_eq!(key.jwk()["kid"], "chainguard-abc");
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn jwk(&self) -> serde_json::Value {
        let components = self.components();
        serde_json::json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.name.strip_suffix(".rsa.pub").unwrap_or(&self.name),
            "n": BASE64_URL_SAFE_NO_PAD.encode(&components.n),
            "e": BASE64_URL_SAFE_NO_PAD.encode(&components.e),
        })
    }
}

/// Signs an index (as [`write_index`] makes it) with each key, `.SIGN.RSA256.<name>`,
/// and puts the signature member in front, as `abuild-sign` and melange do.
///
/// # Errors
///
/// [`IndexError::Keys`] if signing fails.
///
/// ```
/// use apk_repo::index::{ApkIndex, Keyring, Package, SigningKey, sign_index, write_index};
/// let key = SigningKey::generate("repo.rsa.pub")?;
/// let signed = sign_index(&write_index(&[], "empty"), &[&key])?;
/// let mut keyring = Keyring::new();
/// keyring.add_pem(key.name(), &key.public_key_pem())?;
/// assert_eq!(ApkIndex::read(&signed, &keyring)?.signed_by.as_deref(), Some("repo.rsa.pub"));
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
pub fn sign_index(unsigned: &[u8], keys: &[&SigningKey]) -> Result<Vec<u8>, IndexError> {
    let mut signed = signature_member(unsigned, keys)?;
    signed.extend_from_slice(unsigned);
    Ok(signed)
}

/// The signature gzip member over `covered` (`.SIGN.RSA256.<name>` per key, typeflag
/// `'0'`), a tar segment without end-of-archive blocks: the next member's tar follows.
pub(crate) fn signature_member(
    covered: &[u8],
    keys: &[&SigningKey],
) -> Result<Vec<u8>, IndexError> {
    let mut tar_bytes = Vec::new();
    for key in keys {
        let signature = key.sign_sha256(covered)?;
        tar_entry(
            &mut tar_bytes,
            &format!(".SIGN.RSA256.{}", key.name),
            &signature,
            tar::EntryType::Regular,
            0o644,
            0,
        )
        .map_err(|problem| IndexError::Keys {
            problem: format!("key name {}: {problem}", key.name),
        })?;
    }
    Ok(gzip(&tar_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{ApkIndex, Keyring, parse_records};

    fn package(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            ..Package::default()
        }
    }

    #[test]
    fn records_round_trip() {
        let mut full = package("openssl", "3.3.1-r0");
        full.checksum = Some("Q1abc=".into());
        full.arch = Some("x86_64".into());
        full.size = Some(10);
        full.installed_size = Some(20);
        full.description = Some("a: b".into());
        full.url = Some("https://openssl.org".into());
        full.license = Some("Apache-2.0".into());
        full.origin = Some("openssl".into());
        full.maintainer = Some("M <m@example.com>".into());
        full.build_time = Some(1);
        full.commit = Some("abc".into());
        full.provider_priority = Some(5);
        full.depends = vec!["so:libc.so.6".into(), "libcrypto3".into()];
        full.provides = vec!["cmd:openssl=3.3.1-r0".into()];
        full.install_if = vec!["x".into()];
        full.other = vec![('Z', "z".into())];
        let packages = vec![full, package("c++", "1.0-r0")];
        let text = render_records(&packages);
        let back: Vec<Package> = parse_records(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, packages);
    }

    #[test]
    fn signed_by_several_keys_and_discoverable_by_jwks() {
        let first = SigningKey::generate("chainguard-1.rsa.pub").unwrap();
        let second = SigningKey::generate("chainguard-2.rsa.pub").unwrap();
        let signed = sign_index(
            &write_index(&[package("bash", "5.2-r0")], "d"),
            &[&first, &second],
        )
        .unwrap();
        let mut keyring = Keyring::new();
        let jwks = serde_json::json!({"keys": [second.jwk()]});
        assert_eq!(
            keyring.add_jwks(jwks.to_string().as_bytes()).unwrap(),
            ["chainguard-2.rsa.pub"]
        );
        let index = ApkIndex::read(&signed, &keyring).unwrap();
        assert_eq!(index.signed_by.as_deref(), Some("chainguard-2.rsa.pub"));
        let pem = keyring.to_pem("chainguard-2.rsa.pub").unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let mut from_pem = Keyring::new();
        from_pem.add_pem("chainguard-2.rsa.pub", &pem).unwrap();
        assert!(ApkIndex::read(&signed, &from_pem).is_ok());
    }

    #[test]
    fn a_key_of_the_same_name_but_other_bits_is_a_bad_signature() {
        let real = SigningKey::generate("repo.rsa.pub").unwrap();
        let impostor = SigningKey::generate("repo.rsa.pub").unwrap();
        let signed = sign_index(&write_index(&[], "d"), &[&real]).unwrap();
        let mut keyring = Keyring::new();
        keyring
            .add_pem("repo.rsa.pub", &impostor.public_key_pem())
            .unwrap();
        assert!(matches!(
            ApkIndex::read(&signed, &keyring),
            Err(IndexError::BadSignature { .. })
        ));
    }

    #[test]
    fn rsa512_signatures_verify_by_their_names() {
        // aws-lc-rs does not sign with SHA-1; `.SIGN.RSA.` is covered by the real Alpine
        // index in tests/shared_indexes.rs.
        use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA512, RsaEncoding};
        let key = SigningKey::generate("k.rsa.pub").unwrap();
        let unsigned = write_index(&[package("a", "1-r0")], "d");
        let mut keyring = Keyring::new();
        keyring.add_pem(key.name(), &key.public_key_pem()).unwrap();
        let cases: [(&str, &'static dyn RsaEncoding); 2] =
            [("RSA512", &RSA_PKCS1_SHA512), ("RSA256", &RSA_PKCS1_SHA256)];
        for (kind, encoding) in cases {
            let mut signature = vec![0; key.key_pair.public_modulus_len()];
            key.key_pair
                .sign(encoding, &SystemRandom::new(), &unsigned, &mut signature)
                .unwrap();
            let mut header = tar::Header::new_gnu();
            header.set_path(format!(".SIGN.{kind}.k.rsa.pub")).unwrap();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(signature.len() as u64);
            header.set_cksum();
            let mut tar_bytes = header.as_bytes().to_vec();
            tar_bytes.extend_from_slice(&signature);
            tar_bytes.resize(tar_bytes.len().div_ceil(512) * 512, 0);
            let mut signed = gzip(&tar_bytes);
            signed.extend_from_slice(&unsigned);
            let index = ApkIndex::read(&signed, &keyring).unwrap();
            assert_eq!(index.signed_by.as_deref(), Some("k.rsa.pub"), "{kind}");

            // The digest is chosen by the name: the same bytes under another type fail.
            let renamed = if kind == "RSA512" { "RSA256" } else { "RSA512" };
            let mut wrong = header.clone();
            wrong
                .set_path(format!(".SIGN.{renamed}.k.rsa.pub"))
                .unwrap();
            wrong.set_cksum();
            let mut tar_bytes = wrong.as_bytes().to_vec();
            tar_bytes.extend_from_slice(&signature);
            tar_bytes.resize(tar_bytes.len().div_ceil(512) * 512, 0);
            let mut mislabelled = gzip(&tar_bytes);
            mislabelled.extend_from_slice(&unsigned);
            assert!(
                matches!(
                    ApkIndex::read(&mislabelled, &keyring),
                    Err(IndexError::BadSignature { .. })
                ),
                "{kind} bytes under {renamed}"
            );
        }
    }

    #[test]
    fn the_decompression_limit_holds() {
        let big: Vec<Package> = (0..2000)
            .map(|i| package(&format!("p{i}"), "1.0-r0"))
            .collect();
        let bytes = write_index(&big, "d");
        let split = crate::index::SignedIndex::split(&bytes).unwrap();
        let options = crate::index::ReadOptions::default().with_max_decompressed(10_000);
        let err = crate::index::for_each_package(split.signed, options, |_| Ok(())).unwrap_err();
        assert!(
            matches!(err, IndexError::TooLarge { limit: 10_000, .. }),
            "{err:?}"
        );
    }
}
