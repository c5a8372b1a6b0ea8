//! [`Environment`]: where a config's variables (backend URLs, tokens) are read.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Where variables are read: the process, or a fixed set (a sandbox's, a test's). A fixed
/// set is closed: a variable it lacks is unset, whatever the process has.
///
/// ```
/// use pull_through_fleet::Environment;
/// let env = Environment::fixed([("ARTIFACTORY_URL", "http://127.0.0.1:8081"), ("EMPTY", "")]);
/// assert_eq!(env.get("ARTIFACTORY_URL").as_deref(), Some("http://127.0.0.1:8081"));
/// assert_eq!(env.get("EMPTY"), None, "empty counts as unset");
/// assert_eq!(env.get("HOME"), None, "never the process's");
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Environment {
    /// `std::env`.
    #[default]
    Process,
    /// These pairs only.
    Fixed(Arc<BTreeMap<String, String>>),
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Environment::Process => f.write_str("Environment::Process"),
            // Names only: the values are tokens.
            Environment::Fixed(vars) => f.debug_list().entries(vars.keys()).finish(),
        }
    }
}

impl Environment {
    /// A fixed set of variables.
    ///
    /// ```
    /// # use pull_through_fleet::Environment;
    /// let env = Environment::fixed([("A", "1")]);
    /// assert_eq!(format!("{env:?}"), "[\"A\"]");
    /// ```
    pub fn fixed<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Environment {
        Environment::Fixed(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    /// A variable's value; empty counts as unset.
    ///
    /// ```
    /// # use pull_through_fleet::Environment;
    /// assert_eq!(Environment::fixed([("A", "1")]).get("B"), None);
    /// ```
    pub fn get(&self, var: &str) -> Option<String> {
        match self {
            Environment::Process => std::env::var(var).ok(),
            Environment::Fixed(vars) => vars.get(var).cloned(),
        }
        .filter(|value| !value.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_environment_shows_names_never_values() {
        let env = Environment::fixed([("ARTIFACTORY_ACCESS_TOKEN", "eyJ-secret"), ("EMPTY", "")]);
        assert_eq!(
            format!("{env:?}"),
            "[\"ARTIFACTORY_ACCESS_TOKEN\", \"EMPTY\"]"
        );
        assert_eq!(
            env.get("ARTIFACTORY_ACCESS_TOKEN").as_deref(),
            Some("eyJ-secret")
        );
        assert_eq!(env.get("EMPTY"), None, "empty counts as unset");
        assert_eq!(env.get("MISSING"), None);
    }
}
