//! What would change, and what did: [`Plan`], [`Ensured`], [`Deleted`], built from
//! field-level [`FieldChange`]s.
//!
//! ```
//! use pull_through_core::{CacheName, Diff, FieldValue, Plan, PlanAction};
//!
//! let changes = Diff::new()
//!     .field("url", "https://cgr.dev/", Some("https://cgr.dev/chainguard"))
//!     .field("enableTokenAuthentication", true, Some(true))
//!     .into_changes();
//! assert_eq!(changes.len(), 1);
//! let plan = Plan::update(CacheName::new("cgr-public")?, changes);
//! assert_eq!(
//!     plan.to_string(),
//!     "~ cgr-public\n    url: \"https://cgr.dev/chainguard\" -> \"https://cgr.dev/\""
//! );
//! # Ok::<(), pull_through_core::ValidationError>(())
//! ```

use std::fmt;

use serde::Serialize;

use crate::spec::CacheName;
use crate::state::CacheState;

/// A setting's value as a plan shows it. Secrets appear only as [`FieldValue::Secret`],
/// which carries no value, so a plan can be printed and logged freely.
///
/// ```
/// use pull_through_core::FieldValue;
/// assert_eq!(FieldValue::from("https://cgr.dev/").to_string(), "\"https://cgr.dev/\"");
/// assert_eq!(FieldValue::from(true).to_string(), "true");
/// assert_eq!(FieldValue::Secret.to_string(), "(sensitive value)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldValue {
    /// Text.
    Text(String),
    /// A flag.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// An ordered list.
    List(Vec<String>),
    /// A secret that will be written; its value is never shown.
    Secret,
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text(text) => write!(f, "{text:?}"),
            FieldValue::Bool(flag) => write!(f, "{flag}"),
            FieldValue::Integer(number) => write!(f, "{number}"),
            FieldValue::List(items) => write!(f, "{items:?}"),
            FieldValue::Secret => f.write_str("(sensitive value)"),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(value: &str) -> Self {
        FieldValue::Text(value.to_owned())
    }
}

impl From<String> for FieldValue {
    fn from(value: String) -> Self {
        FieldValue::Text(value)
    }
}

impl From<bool> for FieldValue {
    fn from(value: bool) -> Self {
        FieldValue::Bool(value)
    }
}

impl From<i64> for FieldValue {
    fn from(value: i64) -> Self {
        FieldValue::Integer(value)
    }
}

impl From<Vec<String>> for FieldValue {
    fn from(value: Vec<String>) -> Self {
        FieldValue::List(value)
    }
}

/// One setting that differs between what is and what should be.
///
/// ```
/// use pull_through_core::{FieldChange, FieldValue};
/// let change = FieldChange::new("enableTokenAuthentication", Some(false.into()), true.into());
/// assert_eq!(change.to_string(), "enableTokenAuthentication: false -> true");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FieldChange {
    /// The setting, as the vendor's API names it (`enableTokenAuthentication`).
    pub field: String,
    /// What it is now; `None` when unset or when the cache does not exist.
    pub before: Option<FieldValue>,
    /// What it will be.
    pub after: FieldValue,
}

impl FieldChange {
    /// A change of one setting.
    ///
    /// ```
    /// # use pull_through_core::{FieldChange, FieldValue};
    /// let created = FieldChange::new("url", None, FieldValue::from("https://cgr.dev/"));
    /// assert_eq!(created.to_string(), "url: \"https://cgr.dev/\"");
    /// ```
    pub fn new(field: impl Into<String>, before: Option<FieldValue>, after: FieldValue) -> Self {
        FieldChange {
            field: field.into(),
            before,
            after,
        }
    }
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.before {
            Some(before) => write!(f, "{}: {before} -> {}", self.field, self.after),
            None => write!(f, "{}: {}", self.field, self.after),
        }
    }
}

/// Collects the settings that differ, in the order they are compared.
///
/// Backends normalise the server's noise (letter case, suffixes the server adds) before
/// comparing; this only compares and records.
///
/// ```
/// use pull_through_core::Diff;
/// let diff = Diff::new()
///     .field("url", "https://cgr.dev/", Some("https://cgr.dev/"))
///     .field("disableUrlNormalization", true, Some(false));
/// assert_eq!(diff.into_changes()[0].field, "disableUrlNormalization");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Diff {
    changes: Vec<FieldChange>,
}

impl Diff {
    /// An empty diff.
    ///
    /// ```
    /// # use pull_through_core::Diff;
    /// assert!(Diff::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Diff::default()
    }

    /// Records `field` if `actual` differs from `desired` (an absent actual always differs).
    ///
    /// ```
    /// # use pull_through_core::Diff;
    /// // A field the server does not report counts as different.
    /// let diff = Diff::new().field("includesPattern", "**/*", None::<&str>);
    /// assert_eq!(diff.into_changes().len(), 1);
    /// ```
    pub fn field<D, A>(mut self, field: &str, desired: D, actual: Option<A>) -> Self
    where
        D: Into<FieldValue>,
        A: Into<FieldValue>,
    {
        let desired = desired.into();
        let actual = actual.map(Into::into);
        if actual.as_ref() != Some(&desired) {
            self.changes.push(FieldChange::new(field, actual, desired));
        }
        self
    }

    /// Records a secret that will be written, whatever is stored (stored secrets cannot be
    /// read back to compare).
    ///
    /// ```
    /// # use pull_through_core::{Diff, FieldValue};
    /// let rotation = Diff::new().secret("password", true).into_changes();
    /// assert_eq!(rotation[0].before, Some(FieldValue::Secret));
    /// assert_eq!(rotation[0].after, FieldValue::Secret);
    /// ```
    pub fn secret(mut self, field: &str, stored: bool) -> Self {
        self.changes.push(FieldChange::new(
            field,
            stored.then_some(FieldValue::Secret),
            FieldValue::Secret,
        ));
        self
    }

    /// Records a change the backend worked out itself.
    ///
    /// ```
    /// # use pull_through_core::{Diff, FieldChange};
    /// let diff = Diff::new().push(FieldChange::new("repositories", None, vec!["cgr-public".to_owned()].into()));
    /// assert!(!diff.is_empty());
    /// ```
    pub fn push(mut self, change: FieldChange) -> Self {
        self.changes.push(change);
        self
    }

    /// Whether nothing differs.
    ///
    /// ```
    /// # use pull_through_core::Diff;
    /// assert!(Diff::new().field("a", 1i64, Some(1i64)).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes.
    ///
    /// ```
    /// # use pull_through_core::Diff;
    /// let changes = Diff::new().field("a", 1i64, Some(2i64)).into_changes();
    /// assert_eq!(changes[0].to_string(), "a: 2 -> 1");
    /// ```
    pub fn into_changes(self) -> Vec<FieldChange> {
        self.changes
    }
}

/// What [`PullThroughBackend::plan`](crate::PullThroughBackend::plan) found to do for one
/// cache.
///
/// ```
/// use pull_through_core::{CacheName, Plan, PlanAction};
/// let plan = Plan::update(CacheName::new("cgr-public")?, vec![]);
/// assert_eq!(plan.action, PlanAction::NoChange);
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlanAction {
    /// The cache does not exist and will be created with these settings.
    Create {
        /// Every setting that will be written.
        fields: Vec<FieldChange>,
    },
    /// The cache exists and these settings will change.
    Update {
        /// The settings that differ.
        changes: Vec<FieldChange>,
    },
    /// The cache exists as specified.
    NoChange,
}

/// What would happen to one cache; nothing has been written.
///
/// ```
/// use pull_through_core::{CacheName, FieldChange, FieldValue, Plan};
/// let plan = Plan::create(CacheName::new("cg-private")?, vec![
///     FieldChange::new("url", None, "https://apk.cgr.dev/example.com".into()),
///     FieldChange::new("password", None, FieldValue::Secret),
/// ]);
/// assert!(plan.has_changes());
/// assert_eq!(serde_json::to_value(&plan).unwrap()["action"], "create");
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The cache.
    pub cache: CacheName,
    /// What would be done.
    #[serde(flatten)]
    pub action: PlanAction,
    /// Things a person should know (an upstream the backend supports but that is unproven,
    /// a setting the seeds warn about).
    pub notes: Vec<String>,
}

impl Plan {
    /// A plan to create the cache with these settings.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, Plan};
    /// let plan = Plan::create(CacheName::new("cgr-public")?, vec![]);
    /// assert_eq!(plan.to_string(), "+ cgr-public");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn create(cache: CacheName, fields: Vec<FieldChange>) -> Self {
        Plan {
            cache,
            action: PlanAction::Create { fields },
            notes: Vec::new(),
        }
    }

    /// A plan to change these settings; an empty list is [`PlanAction::NoChange`].
    ///
    /// ```
    /// # use pull_through_core::{CacheName, FieldChange, Plan};
    /// let plan = Plan::update(CacheName::new("cgr-virt")?, vec![
    ///     FieldChange::new("repositories", Some(vec!["cgr-public".to_owned()].into()),
    ///         vec!["cgr-public".to_owned(), "cgr-private".to_owned()].into()),
    /// ]);
    /// assert!(plan.to_string().starts_with("~ cgr-virt"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn update(cache: CacheName, changes: Vec<FieldChange>) -> Self {
        let action = if changes.is_empty() {
            PlanAction::NoChange
        } else {
            PlanAction::Update { changes }
        };
        Plan {
            cache,
            action,
            notes: Vec::new(),
        }
    }

    /// Adds a note.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, Plan};
    /// let plan = Plan::update(CacheName::new("cg-apk")?, vec![]).with_note("unproven on this backend");
    /// assert_eq!(plan.notes, ["unproven on this backend"]);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Whether applying the plan would write anything.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, Plan};
    /// assert!(!Plan::update(CacheName::new("x")?, vec![]).has_changes());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn has_changes(&self) -> bool {
        !matches!(self.action, PlanAction::NoChange)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mark, fields) = match &self.action {
            PlanAction::Create { fields } => ("+", fields.as_slice()),
            PlanAction::Update { changes } => ("~", changes.as_slice()),
            PlanAction::NoChange => ("=", &[][..]),
        };
        write!(f, "{mark} {}", self.cache)?;
        for field in fields {
            write!(f, "\n    {field}")?;
        }
        for note in &self.notes {
            write!(f, "\n    note: {note}")?;
        }
        Ok(())
    }
}

/// What [`PullThroughBackend::ensure`](crate::PullThroughBackend::ensure) did.
///
/// ```
/// use pull_through_core::{CacheName, CacheState, Ensured, PackageFormat};
/// let state = CacheState::remote(CacheName::new("cgr-public")?, PackageFormat::Docker, "https://cgr.dev/");
/// let outcome = Ensured::Unchanged { state };
/// assert!(!outcome.wrote());
/// assert_eq!(serde_json::to_value(&outcome).unwrap()["outcome"], "unchanged");
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ensured {
    /// The cache did not exist and was created.
    Created {
        /// The cache as it now is.
        state: CacheState,
    },
    /// The cache existed and these settings were changed.
    Updated {
        /// The cache as it now is.
        state: CacheState,
        /// What was changed.
        changes: Vec<FieldChange>,
    },
    /// The cache existed as specified; nothing was written.
    Unchanged {
        /// The cache as it is.
        state: CacheState,
    },
}

impl Ensured {
    /// The cache as it is after the call.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, Ensured, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("cgr-public")?, PackageFormat::Docker, "https://cgr.dev/");
    /// assert_eq!(Ensured::Created { state }.state().name.as_str(), "cgr-public");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn state(&self) -> &CacheState {
        match self {
            Ensured::Created { state }
            | Ensured::Updated { state, .. }
            | Ensured::Unchanged { state } => state,
        }
    }

    /// Whether anything was written.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, Ensured, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("cgr-public")?, PackageFormat::Docker, "https://cgr.dev/");
    /// assert!(Ensured::Updated { state, changes: vec![] }.wrote());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn wrote(&self) -> bool {
        !matches!(self, Ensured::Unchanged { .. })
    }
}

/// `created <name>`, `unchanged <name>`, or `updated <name>: <n> settings changed` with each
/// change on an indented line of its own. Secrets show only as `(sensitive value)`.
///
/// ```
/// use pull_through_core::{CacheName, CacheState, Ensured, FieldChange, FieldValue, PackageFormat};
///
/// let state = CacheState::remote(CacheName::new("cg-private")?, PackageFormat::Apk,
///     "https://apk.cgr.dev/example.com");
/// let updated = Ensured::Updated {
///     state: state.clone(),
///     changes: vec![
///         FieldChange::new("disableUrlNormalization", Some(false.into()), true.into()),
///         FieldChange::new("password", Some(FieldValue::Secret), FieldValue::Secret),
///     ],
/// };
/// assert_eq!(
///     updated.to_string(),
///     "updated cg-private: 2 settings changed\n    disableUrlNormalization: false -> true\n    \
///      password: (sensitive value) -> (sensitive value)"
/// );
/// assert_eq!(Ensured::Created { state: state.clone() }.to_string(), "created cg-private");
/// assert_eq!(Ensured::Unchanged { state }.to_string(), "unchanged cg-private");
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
impl fmt::Display for Ensured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ensured::Created { state } => write!(f, "created {}", state.name),
            Ensured::Unchanged { state } => write!(f, "unchanged {}", state.name),
            Ensured::Updated { state, changes } => {
                let noun = if changes.len() == 1 {
                    "setting"
                } else {
                    "settings"
                };
                write!(
                    f,
                    "updated {}: {} {noun} changed",
                    state.name,
                    changes.len()
                )?;
                for change in changes {
                    write!(f, "\n    {change}")?;
                }
                Ok(())
            }
        }
    }
}

/// What [`PullThroughBackend::delete`](crate::PullThroughBackend::delete) did.
///
/// ```
/// use pull_through_core::Deleted;
/// assert_eq!(serde_json::to_string(&Deleted::AlreadyAbsent).unwrap(), "\"already_absent\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Deleted {
    /// The cache existed and was deleted.
    Removed,
    /// There was no such cache; nothing was done.
    AlreadyAbsent,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> CacheName {
        CacheName::new("cg-private").unwrap()
    }

    #[test]
    fn diff_records_only_differences() {
        let changes = Diff::new()
            .field("a", "x", Some("x"))
            .field("b", true, None::<bool>)
            .field("c", vec!["m".to_owned()], Some(vec!["n".to_owned()]))
            .secret("password", true)
            .into_changes();
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["b", "c", "password"]);
        assert_eq!(changes[0].before, None);
    }

    #[test]
    fn plan_rendering() {
        let plan = Plan::create(
            name(),
            vec![
                FieldChange::new("url", None, "https://apk.cgr.dev/example.com".into()),
                FieldChange::new("password", None, FieldValue::Secret),
            ],
        )
        .with_note("rotate before the pull token expires");
        assert_eq!(
            plan.to_string(),
            "+ cg-private\n    url: \"https://apk.cgr.dev/example.com\"\n    password: (sensitive \
             value)\n    note: rotate before the pull token expires"
        );
        assert!(plan.has_changes());
        let unchanged = Plan::update(name(), Vec::new());
        assert!(!unchanged.has_changes());
        assert_eq!(unchanged.to_string(), "= cg-private");
    }

    fn remote_state() -> CacheState {
        CacheState::remote(
            name(),
            crate::PackageFormat::Apk,
            "https://apk.cgr.dev/example.com",
        )
        .with_username("org/identity")
    }

    #[test]
    fn ensured_created_display() {
        let created = Ensured::Created {
            state: remote_state(),
        };
        assert_eq!(created.to_string(), "created cg-private");
    }

    #[test]
    fn ensured_unchanged_display() {
        let unchanged = Ensured::Unchanged {
            state: remote_state(),
        };
        assert_eq!(unchanged.to_string(), "unchanged cg-private");
    }

    #[test]
    fn ensured_updated_display_lists_changes_and_hides_secrets() {
        let one = Ensured::Updated {
            state: remote_state(),
            changes: vec![FieldChange::new(
                "url",
                Some("https://apk.cgr.dev/example.com/".into()),
                "https://apk.cgr.dev/example.com".into(),
            )],
        };
        assert_eq!(
            one.to_string(),
            "updated cg-private: 1 setting changed\n    url: \"https://apk.cgr.dev/example.com/\" \
             -> \"https://apk.cgr.dev/example.com\""
        );
        let rotation = Ensured::Updated {
            state: remote_state(),
            changes: Diff::new()
                .field("username", "org/new", Some("org/identity"))
                .secret("password", true)
                .into_changes(),
        };
        assert_eq!(
            rotation.to_string(),
            "updated cg-private: 2 settings changed\n    username: \"org/identity\" -> \
             \"org/new\"\n    password: (sensitive value) -> (sensitive value)"
        );
        let none = Ensured::Updated {
            state: remote_state(),
            changes: Vec::new(),
        };
        assert_eq!(none.to_string(), "updated cg-private: 0 settings changed");
    }

    #[test]
    fn plan_json_is_stable() {
        let plan = Plan::update(
            name(),
            vec![FieldChange::new(
                "disableUrlNormalization",
                Some(false.into()),
                true.into(),
            )],
        );
        assert_eq!(
            serde_json::to_value(&plan).unwrap(),
            serde_json::json!({
                "cache": "cg-private",
                "action": "update",
                "changes": [{
                    "field": "disableUrlNormalization",
                    "before": {"type": "bool", "value": false},
                    "after": {"type": "bool", "value": true}
                }],
                "notes": []
            })
        );
    }
}
