//! Use cases that span the store, the gateway and the credential crate, shared by the HTTP
//! handlers and the background workers.

pub mod alternatives;
pub mod binding;
pub mod issue;
pub mod login_link;
pub mod purchase;
