//! Authentication primitives: password hashing and session/refresh tokens.
//! Nothing here touches the network or the store.

pub mod password;
pub mod token;
