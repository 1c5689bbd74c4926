//! Who a caller is: password hashes at sign-up and login, signed access tokens afterwards.

mod password;
mod token;

pub use password::{PasswordHash, PasswordHashError};
pub use token::{AccessToken, Claims, JwtSecret, TokenError, TokenService};
