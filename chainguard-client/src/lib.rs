//! Chainguard platform client for pull-through. **Not implemented yet.**
//!
//! This crate will do in code what Chainguard's pull-through tutorials do with `chainctl`:
//!
//! - authenticate (a static `CHAINGUARD_TOKEN`, chainctl's cached token files, an OIDC
//!   exchange at `issuer.enforce.dev` for an assumed identity, the refresh-token exchange),
//!   with one token per audience (`https://console-api.enforce.dev`, `cgr.dev`, `apk.cgr.dev`);
//! - list organizations and resolve an organization name to its id;
//! - look up built-in roles (`registry.pull`, `apk.pull`, `viewer`) by name;
//! - create, list, revoke and prune pull tokens (a static identity, a role binding and a JWT
//!   signed by a key generated on the spot);
//! - create and delete role bindings, mint tokens for an audience, report auth status;
//! - obtain a `cgr.dev` registry token through the `WWW-Authenticate` challenge flow.
//!
//! Credentials it produces reach backends as `pull-through-core`'s plain
//! `UpstreamCredentials`, never as a type of this crate. Until the client lands, this crate
//! exports nothing; see the workspace README for the status of each crate.
