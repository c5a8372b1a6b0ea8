//! Google Artifact Registry client for Chainguard pull-through caches. **Not implemented yet.**
//!
//! This crate will create remote Docker repositories in Google Artifact Registry whose upstream
//! is `cgr.dev`, store pull-token passwords in Secret Manager, grant the Artifact Registry
//! service agent access to the secret, and implement `pull-through-core`'s
//! `PullThroughBackend`. Google Artifact Registry has no remote repository type for APK
//! packages, so only container image upstreams will be supported.
//!
//! Until the client lands, this crate exports nothing; see the workspace README for the
//! status of each crate.
