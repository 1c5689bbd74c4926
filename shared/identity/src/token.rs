use cartwheel_domain::{Role, UserId};
use jsonwebtoken::{
    decode, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

const ISSUER: &str = "cartwheel";

/// The HMAC key that signs access tokens. It only comes from configuration, and is at least
/// 32 bytes so that it cannot be guessed.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    pub fn parse(raw: &str) -> Result<Self, TokenError> {
        if raw.len() >= 32 {
            Ok(Self(raw.as_bytes().to_vec()))
        } else {
            Err(TokenError::WeakSecret)
        }
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the JWT secret must be at least 32 characters")]
    WeakSecret,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
    #[error("could not sign the access token")]
    Signing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    pub fn user_id(&self) -> Result<UserId, TokenError> {
        self.sub.parse().map_err(|_| TokenError::Invalid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: u64,
}

impl TokenService {
    pub fn new(secret: &JwtSecret, ttl_seconds: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(&secret.0),
            decoding: DecodingKey::from_secret(&secret.0),
            validation,
            ttl_seconds,
        }
    }

    pub fn issue(&self, user: UserId, role: Role) -> Result<AccessToken, TokenError> {
        self.issue_at(user, role, OffsetDateTime::now_utc().unix_timestamp())
    }

    /// Issues a token as if it were `issued_at`; tests use it to make expired tokens.
    pub fn issue_at(
        &self,
        user: UserId,
        role: Role,
        issued_at: i64,
    ) -> Result<AccessToken, TokenError> {
        let ttl = i64::try_from(self.ttl_seconds).map_err(|_| TokenError::Signing)?;
        let claims = Claims {
            sub: user.to_string(),
            role,
            iss: ISSUER.into(),
            iat: issued_at,
            exp: issued_at + ttl,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Signing)?;
        Ok(AccessToken {
            access_token: token,
            token_type: "Bearer",
            expires_in: self.ttl_seconds,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(secret: &str) -> TokenService {
        TokenService::new(&JwtSecret::parse(secret).unwrap(), 60)
    }

    #[test]
    fn a_token_round_trips_its_subject_and_role() {
        let tokens = service("a-test-secret-that-is-long-enough!!");
        let user = UserId::generate();
        let issued = tokens.issue(user, Role::Admin).unwrap();
        let claims = tokens.verify(&issued.access_token).unwrap();
        assert_eq!(claims.user_id(), Ok(user));
        assert_eq!(claims.role, Role::Admin);
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let tokens = service("a-test-secret-that-is-long-enough!!");
        let user = UserId::generate();
        let old = tokens.issue_at(user, Role::Customer, 1_000).unwrap();
        assert_eq!(tokens.verify(&old.access_token), Err(TokenError::Expired));
        let good = tokens.issue(user, Role::Customer).unwrap().access_token;
        let mut tampered = good.clone().into_bytes();
        let mid = tampered.len() / 2;
        tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            tokens.verify(&String::from_utf8(tampered).unwrap()),
            Err(TokenError::Invalid)
        );
        let foreign = service("another-secret-that-is-long-enough!!")
            .issue(user, Role::Admin)
            .unwrap();
        assert_eq!(
            tokens.verify(&foreign.access_token),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            JwtSecret::parse("short").err(),
            Some(TokenError::WeakSecret)
        );
    }
}
