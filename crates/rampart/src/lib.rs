//! Rampart: the security layer for axum applications.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use rampart_core::{datastore, model};
pub use rampart_password as password;
pub use rampart_sqlx as sqlx_store;
