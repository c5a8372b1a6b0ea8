//! Cloudsmith client for Chainguard pull-through caches. **Not implemented yet.**
//!
//! This crate will create Cloudsmith repositories with Docker upstreams pointing at `cgr.dev`
//! (public images and, with pull-token credentials, an organization's private images), rotate
//! upstream credentials, and implement `pull-through-core`'s `PullThroughBackend`. Alpine
//! upstreams in front of `apk.cgr.dev` are unproven on Cloudsmith and will be reported as such.
//!
//! Until the client lands, this crate exports nothing; see the workspace README for the
//! status of each crate.
