//! [`FleetError`]: why a flow could not start or run as a whole. A single cache's failure
//! is not an error: it is in that cache's outcome, and the others go on.

use crate::config::ConfigError;

/// Why a deployment could not connect, or a flow could not run at all.
///
/// ```
/// use pull_through_fleet::FleetError;
/// let err = FleetError::Usage("--cache gone: not a cache of seeds.toml".into());
/// assert!(err.is_usage());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The config file is wrong, with its file, line and field.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Other bad input, found before anything was changed (a variable that is not set, an
    /// `org_id` that is not the organization's).
    #[error("{0}")]
    Usage(String),
    /// A backend refused the credentials it was given; the message names where they came
    /// from.
    #[error("{0}")]
    Refused(String),
    /// What a service answered.
    #[error(transparent)]
    Backend(#[from] pull_through_core::Error),
}

impl FleetError {
    /// Whether the caller's input is at fault (a program exits 2), rather than a service
    /// (exit 1).
    ///
    /// ```
    /// use pull_through_fleet::FleetError;
    /// assert!(!FleetError::Refused("the token was refused".into()).is_usage());
    /// ```
    pub fn is_usage(&self) -> bool {
        match self {
            FleetError::Config(_) | FleetError::Usage(_) => true,
            FleetError::Backend(err) => err.is_invalid_input(),
            _ => false,
        }
    }
}
