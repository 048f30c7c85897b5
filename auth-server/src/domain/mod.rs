//! Validated values: each type can only hold what the rules allow.

mod grant_type;
mod password;
mod signing_alg;
mod username;

pub use grant_type::{GrantType, GrantTypes, UnknownGrantType};
pub use password::{Password, PasswordPolicyError};
pub use signing_alg::{SigningAlg, UnsupportedAlg};
pub use username::{Username, UsernameError};
