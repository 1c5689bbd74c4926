use argon2::{
    password_hash::{PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use cartwheel_domain::Password;
use password_hash::rand_core::OsRng;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
#[error("could not hash the password: {0}")]
pub struct PasswordHashError(String);

/// An argon2id hash in PHC string form, as stored on the user item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn create(password: &Password) -> Result<Self, PasswordHashError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| Self(hash.to_string()))
            .map_err(|e| PasswordHashError(e.to_string()))
    }

    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn verify(&self, attempt: &str) -> bool {
        argon2::PasswordHash::new(&self.0).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(attempt.as_bytes(), &parsed)
                .is_ok()
        })
    }

    /// Spends the same time as a real check, so that a login for an unknown e-mail cannot be told
    /// apart from a wrong password by its latency.
    pub fn verify_against_nothing(attempt: &str) {
        static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            Password::parse("dummy password that matches nobody")
                .ok()
                .and_then(|p| Self::create(&p).ok())
        });
        if let Some(hash) = dummy {
            hash.verify(attempt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = PasswordHash::create(&password).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify("correct horse battery"));
        assert!(!hash.verify("correct horse battery!"));
        assert!(!PasswordHash::from_stored("garbage".into()).verify("x"));
    }
}
