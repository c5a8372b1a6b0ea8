//! The reconcile's tests: a fake vendor in memory, and every rule counted in its writes
//! and reads.

use std::sync::Mutex;

use super::*;
use crate::listing::Listing;
use crate::plan::Ensured;
use crate::upstream::{Upstream, UpstreamCredentials};
use crate::{ExposeSecret, PackageFormat};

/// A cache as the fake vendor stores it: key, url, username, and the writes it saw.
#[derive(Debug, Clone, Default)]
struct Stored {
    key: String,
    url: String,
    username: String,
}

#[derive(Default)]
struct Fake {
    stored: Mutex<Vec<Stored>>,
    writes: Mutex<Vec<String>>,
    /// Another writer creates the cache (with another URL) just before our create.
    racing_writer: std::sync::atomic::AtomicBool,
    /// Caches of this URL cannot be turned into another.
    frozen_url: Option<String>,
    /// The next create answers 502: after storing the cache (its answer lost), or
    /// without (a gateway that never passed it on).
    create_502: Mutex<Option<bool>>,
    /// Reads and listings sent.
    reads: std::sync::atomic::AtomicUsize,
}

impl Fake {
    fn reads(&self) -> usize {
        self.reads.swap(0, std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl Reconcile for Fake {
    type Resource = Stored;
    fn vendor(&self) -> &str {
        "fake"
    }
    fn name_case(&self) -> NameCase {
        NameCase::Insensitive
    }
    async fn read(&self, name: &CacheName) -> Result<Option<Stored>, Error> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self
            .stored
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.key == name.as_str())
            .cloned())
    }
    async fn names(&self) -> Result<Vec<String>, Error> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self
            .stored
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.key.clone())
            .collect())
    }
    async fn list_all(&self) -> Result<Option<Vec<(String, Option<Stored>)>>, Error> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(
            self.stored
                .lock()
                .unwrap()
                .iter()
                .map(|s| (s.key.clone(), Some(s.clone())))
                .collect(),
        ))
    }
    fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
        vec![(
            "url".into(),
            spec.upstream().unwrap().url().to_string().into(),
        )]
    }
    fn observed(&self, _: &CacheSpec, stored: &Stored) -> Observed {
        Observed::new()
            .with("url", stored.url.clone())
            .with_username(stored.username.clone())
    }
    fn check_update(&self, spec: &CacheSpec, stored: &Stored) -> Result<(), Error> {
        match &self.frozen_url {
            Some(url) if *url == stored.url && spec.upstream().unwrap().url().as_str() != url => {
                Err(Error::Unsupported {
                    vendor: "fake".into(),
                    what: format!("turning {} into another kind", spec.name),
                    hint: "delete it first".into(),
                })
            }
            _ => Ok(()),
        }
    }
    async fn create(&self, spec: &CacheSpec) -> Result<Stored, Error> {
        if self
            .racing_writer
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            self.stored.lock().unwrap().push(Stored {
                key: spec.name.to_string(),
                url: "https://cgr.dev/chainguard".into(),
                username: String::new(),
            });
            return Err(Error::AlreadyExists(Box::new(crate::error::ApiError::new(
                "fake",
                http::Method::PUT,
                "https://fake/caches",
                http::StatusCode::CONFLICT,
                "already exists",
            ))));
        }
        let twin =
            self.stored.lock().unwrap().iter().any(|s| {
                s.key != spec.name.as_str() && s.key.eq_ignore_ascii_case(spec.name.as_str())
            });
        if twin {
            return Err(Error::AlreadyExists(Box::new(crate::error::ApiError::new(
                "fake",
                http::Method::PUT,
                "https://fake/caches",
                http::StatusCode::CONFLICT,
                "a cache of that name exists, whatever its case",
            ))));
        }
        let stored = Stored {
            key: spec.name.to_string(),
            url: spec.upstream().unwrap().url().to_string(),
            username: match &spec.kind {
                CacheKind::Remote(r) => r
                    .credentials
                    .as_ref()
                    .map(|c| c.username().to_owned())
                    .unwrap_or_default(),
                _ => String::new(),
            },
        };
        let bad_gateway = || {
            Err(Error::from_api(
                crate::error::ApiError::new(
                    "fake",
                    http::Method::PUT,
                    "https://fake/caches",
                    http::StatusCode::BAD_GATEWAY,
                    "bad gateway",
                ),
                None,
            ))
        };
        let fault = self.create_502.lock().unwrap().take();
        if fault == Some(false) {
            return bad_gateway();
        }
        self.writes
            .lock()
            .unwrap()
            .push(format!("create {}", stored.key));
        self.stored.lock().unwrap().push(stored.clone());
        if fault == Some(true) {
            return bad_gateway();
        }
        Ok(stored)
    }
    async fn update(
        &self,
        spec: &CacheSpec,
        stored: &Stored,
        write: &Write<'_>,
    ) -> Result<Stored, Error> {
        let fields: Vec<&str> = write.changes.iter().map(|c| c.field.as_str()).collect();
        let password = match write.password {
            PasswordWrite::Keep => "keep".to_owned(),
            PasswordWrite::Set(p) => format!("set {}", p.expose_secret()),
            PasswordWrite::Clear => "clear".to_owned(),
        };
        self.writes
            .lock()
            .unwrap()
            .push(format!("update {} {fields:?} {password}", stored.key));
        let mut updated = stored.clone();
        updated.username = match &spec.kind {
            CacheKind::Remote(r) => r
                .credentials
                .as_ref()
                .map(|c| c.username().to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let mut all = self.stored.lock().unwrap();
        all.retain(|s| s.key != stored.key);
        all.push(updated.clone());
        Ok(updated)
    }
    fn state(&self, stored: &Stored) -> Result<CacheState, Error> {
        Ok(CacheState::remote(
            CacheName::new(stored.key.clone())?,
            PackageFormat::Docker,
            stored.url.clone(),
        ))
    }
}

fn private(user: &str, password: &str) -> CacheSpec {
    CacheSpec::remote(
        CacheName::new("cgr-private").unwrap(),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    )
    .with_credentials(UpstreamCredentials::new(user, password).unwrap())
}

fn writes(fake: &Fake) -> Vec<String> {
    std::mem::take(&mut *fake.writes.lock().unwrap())
}

#[tokio::test]
async fn the_password_is_written_on_create_username_change_and_rotation_only() {
    let fake = Fake::default();
    assert!(matches!(
        ensure(&fake, &private("org/a", "one")).await.unwrap(),
        Ensured::Created { .. }
    ));
    assert_eq!(writes(&fake), ["create cgr-private"]);

    // Another password alone is never compared, so never written.
    assert!(matches!(
        ensure(&fake, &private("org/a", "two")).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
    assert!(writes(&fake).is_empty());

    let rotated = ensure(&fake, &private("org/a", "three").rotating_credentials())
        .await
        .unwrap();
    let Ensured::Updated { changes, .. } = rotated else {
        panic!("a rotation updates")
    };
    assert_eq!(
        changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ["password: (sensitive value) -> (sensitive value)"]
    );
    assert_eq!(
        writes(&fake),
        ["update cgr-private [\"password\"] set three"]
    );

    ensure(&fake, &private("org/b", "four")).await.unwrap();
    assert_eq!(
        writes(&fake),
        ["update cgr-private [\"username\", \"password\"] set four"]
    );

    // A spec without credentials clears the stored ones.
    let public = CacheSpec::remote(
        CacheName::new("cgr-private").unwrap(),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    );
    let plan = plan(&fake, &public).await.unwrap();
    assert_eq!(
        plan.to_string(),
        "~ cgr-private\n    username: \"org/b\" -> \"\"\n    password: (sensitive value) -> (sensitive value)"
    );
    ensure(&fake, &public).await.unwrap();
    assert_eq!(
        writes(&fake),
        ["update cgr-private [\"username\", \"password\"] clear"]
    );
}

fn public(name: &str) -> CacheSpec {
    CacheSpec::remote(CacheName::new(name).unwrap(), Upstream::CgrPublic)
}

#[tokio::test]
async fn within_a_listing_absent_caches_are_created_unread_and_listed_ones_not_read_again() {
    let fake = Fake::default();
    let listing = super::listing(&fake).await.unwrap();
    assert_eq!(fake.reads(), 1, "one listing");
    for name in ["a", "b"] {
        assert!(matches!(
            ensure_in(&fake, &public(name), &listing).await.unwrap(),
            Ensured::Created { .. }
        ));
    }
    assert_eq!(
        fake.reads(),
        0,
        "no read, no twin listing: the listing said absent"
    );
    // What was written is kept: the same run's describe reads nothing.
    assert!(
        describe_in(&fake, &public("a").name, &listing)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(fake.reads(), 0);

    // The next run: one listing holding whole caches, and nothing else.
    let listing = super::listing(&fake).await.unwrap();
    for name in ["a", "b"] {
        assert!(matches!(
            ensure_in(&fake, &public(name), &listing).await.unwrap(),
            Ensured::Unchanged { .. }
        ));
        plan_in(&fake, &public(name), &listing).await.unwrap();
    }
    assert_eq!(fake.reads(), 1);
    assert_eq!(writes(&fake), ["create a", "create b"]);
}

#[tokio::test]
async fn a_cache_made_in_the_run_is_not_taken_for_absent_once_forgotten() {
    let fake = Fake::default();
    let listing = Listing::of_names([]);
    ensure_in(&fake, &public("a"), &listing).await.unwrap();
    listing.forget("a");
    fake.reads();
    assert!(
        read_in(&fake, &public("a").name, &listing)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(fake.reads(), 1, "read, not assumed absent");
    assert_eq!(writes(&fake), ["create a"], "never made twice");
}

#[tokio::test]
async fn a_case_twin_made_after_the_listing_is_reported_as_one() {
    let fake = Fake::default();
    let listing = super::listing(&fake).await.unwrap();
    fake.stored.lock().unwrap().push(Stored {
        key: "CGR-public".into(),
        url: "https://cgr.dev/".into(),
        username: String::new(),
    });
    let err = ensure_in(&fake, &public("cgr-public"), &listing)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("CGR-public already exists"),
        "{err}"
    );
    assert!(writes(&fake).is_empty());
}

#[tokio::test]
async fn a_racing_create_is_reconciled_by_reading_and_updating() {
    let fake = Fake::default();
    fake.racing_writer
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let spec = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
    let Ensured::Updated { changes, .. } = ensure(&fake, &spec).await.unwrap() else {
        panic!("the other writer's cache is updated to the spec")
    };
    assert_eq!(
        changes[0].to_string(),
        "url: \"https://cgr.dev/chainguard\" -> \"https://cgr.dev/\""
    );
    assert_eq!(writes(&fake), ["update cgr-public [\"url\"] keep"]);
    assert_eq!(fake.stored.lock().unwrap().len(), 1, "no duplicate");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_read_back_and_not_made_twice() {
    let fake = Fake::default();
    *fake.create_502.lock().unwrap() = Some(true);
    let credentials = UpstreamCredentials::new("org/a", "jwt-a").unwrap();
    let spec = CacheSpec::remote(
        CacheName::new("cgr-private").unwrap(),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    )
    .with_credentials(credentials);
    let Ensured::Created { state } = ensure(&fake, &spec).await.unwrap() else {
        panic!("the create happened: its answer was lost")
    };
    assert_eq!(state.name.as_str(), "cgr-private");
    assert_eq!(writes(&fake), ["create cgr-private"], "no second write");
    assert_eq!(fake.stored.lock().unwrap().len(), 1);

    // A 502 for a create that never reached the vendor is the error.
    let other = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
    *fake.create_502.lock().unwrap() = Some(false);
    let err = ensure(&fake, &other).await.unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::BAD_GATEWAY));
    assert_eq!(fake.stored.lock().unwrap().len(), 1);
    assert!(matches!(
        ensure(&fake, &other).await.unwrap(),
        Ensured::Created { .. }
    ));
}

#[tokio::test]
async fn a_change_the_vendor_cannot_make_is_refused_before_any_write() {
    let fake = Fake {
        frozen_url: Some("https://cgr.dev/chainguard".into()),
        ..Fake::default()
    };
    fake.stored.lock().unwrap().push(Stored {
        key: "cgr-public".into(),
        url: "https://cgr.dev/chainguard".into(),
        username: String::new(),
    });
    let spec = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
    for result in [
        plan(&fake, &spec).await.map(drop),
        ensure(&fake, &spec).await.map(drop),
    ] {
        assert!(
            matches!(&result, Err(Error::Unsupported { hint, .. }) if hint == "delete it first"),
            "{result:?}"
        );
    }
    assert!(writes(&fake).is_empty());
}

#[tokio::test]
async fn a_drifted_setting_is_updated_and_a_case_twin_refused_before_any_write() {
    let fake = Fake::default();
    fake.stored.lock().unwrap().push(Stored {
        key: "cgr-public".into(),
        url: "https://cgr.dev/chainguard".into(),
        username: String::new(),
    });
    let spec = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
    let Ensured::Updated { changes, .. } = ensure(&fake, &spec).await.unwrap() else {
        panic!("drift is updated")
    };
    assert_eq!(
        changes[0].to_string(),
        "url: \"https://cgr.dev/chainguard\" -> \"https://cgr.dev/\""
    );
    assert_eq!(writes(&fake), ["update cgr-public [\"url\"] keep"]);

    let twin = CacheSpec::remote(CacheName::new("CGR-Public").unwrap(), Upstream::CgrPublic);
    let err = plan(&fake, &twin).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: name: CGR-Public: cgr-public already exists on fake, whose names are unique regardless of letter case; name the cache cgr-public or choose another name"
    );
    assert!(ensure(&fake, &twin).await.is_err());
    assert!(writes(&fake).is_empty());
}
