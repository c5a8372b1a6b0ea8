//! The README's Rust examples, compiled and run as doc tests of this package, which
//! depends on every crate of the workspace. Nothing else lives here: the program is the
//! `pull-through` binary.

/// The README, whose ```` ```rust ```` blocks run as doc tests (fragments are marked
/// `ignore`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
