//! The flows, one module each, all methods of [`Deployment`](crate::Deployment).

pub(crate) mod access;
pub(crate) mod apply;
pub(crate) mod destroy;
pub(crate) mod outcome;
pub(crate) mod plan;
pub(crate) mod rotate;
pub(crate) mod status;
pub(crate) mod tokens;
pub(crate) mod verify;
