//! [`Layout`]: which repository holds each cache's upstream, the seed's "new repository"
//! and "same repository".

use pull_through_core::ValidationError;

use crate::rules::REPOSITORY_SLUG_RULES;

/// Which repository holds a cache's upstream: the seed's two layouts.
///
/// ```
/// use cloudsmith_client::Layout;
/// let shared = Layout::shared("chainguard")?;
/// assert_eq!(shared.repository_of("cgr-private"), "chainguard");
/// assert_eq!(Layout::OwnRepository.repository_of("cgr-private"), "cgr-private");
/// assert!(Layout::shared("Chainguard").is_err());
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Layout {
    /// The seed's "new repository": each cache is a repository of its own, named after the
    /// cache, holding one Docker upstream of the same name. No aggregates.
    #[default]
    OwnRepository,
    /// The seed's "same repository": every cache of the backend is a Docker upstream of
    /// this one repository; an aggregate named after the repository sets their order.
    /// Build it with [`Layout::shared`], which checks the slug; one built directly is
    /// checked by the backend before any write ([`Layout::check`]).
    Shared {
        /// The repository's slug.
        repository: String,
    },
}

impl Layout {
    /// Every cache in `repository`, checked as a slug this crate may create.
    ///
    /// # Errors
    ///
    /// [`ValidationError::InvalidName`] for a slug breaking [`REPOSITORY_SLUG_RULES`].
    ///
    /// ```
    /// assert!(cloudsmith_client::Layout::shared("cgr").is_ok());
    /// ```
    pub fn shared(repository: impl Into<String>) -> Result<Layout, ValidationError> {
        let repository = repository.into();
        REPOSITORY_SLUG_RULES.check(&repository)?;
        Ok(Layout::Shared { repository })
    }

    /// The slug of the repository that holds cache `name` (for the shared layout's
    /// aggregate, the repository it is).
    ///
    /// ```
    /// # use cloudsmith_client::Layout;
    /// assert_eq!(Layout::shared("cgr")?.repository_of("cgr"), "cgr");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn repository_of<'a>(&'a self, name: &'a str) -> &'a str {
        match self {
            Layout::OwnRepository => name,
            Layout::Shared { repository } => repository,
        }
    }

    /// Refuses a shared repository whose slug this crate may not create: the check
    /// [`shared`](Self::shared) makes, for a layout built as `Layout::Shared { .. }`
    /// directly (its field is public, as enum fields are). The backend makes it before any
    /// write.
    ///
    /// # Errors
    ///
    /// [`ValidationError::InvalidName`] naming the rule the slug breaks.
    ///
    /// ```
    /// use cloudsmith_client::Layout;
    /// assert!(Layout::Shared { repository: "Chainguard".into() }.check().is_err());
    /// assert!(Layout::shared("chainguard")?.check().is_ok());
    /// assert!(Layout::OwnRepository.check().is_ok());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn check(&self) -> Result<(), ValidationError> {
        match self {
            Layout::Shared { repository } => REPOSITORY_SLUG_RULES.check(repository),
            _ => Ok(()),
        }
    }

    /// The shared repository, if this layout has one.
    pub(crate) fn shared_repository(&self) -> Option<&str> {
        match self {
            Layout::Shared { repository } => Some(repository),
            _ => None,
        }
    }
}
