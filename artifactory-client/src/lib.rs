//! JFrog Artifactory client for Chainguard pull-through caches. **Not implemented yet.**
//!
//! This crate will automate the Artifactory tutorials for Chainguard's registry and APK
//! repositories: remote Docker repositories at exactly `https://cgr.dev/` with token
//! authentication on, remote Alpine repositories at `https://apk.cgr.dev/<org name>` and
//! `https://virtualapk.cgr.dev/<org id>/{chainguard,extra-packages}` with URL normalization
//! off, virtual Docker and Generic repositories over them, access tokens, and the
//! `PullThroughBackend` implementation of `pull-through-core`.
//!
//! Until the client lands, this crate exports nothing; see the workspace README for the
//! status of each crate.
