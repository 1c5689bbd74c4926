use cartwheel_domain::{Role, UserId};
use jsonwebtoken::{
    decode, decode_header, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header,
    Validation,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

const ISSUER: &str = "cartwheel";

/// The HMAC keys of access tokens, by key id (`kid`): every key verifies the tokens that name it,
/// and one of them signs. So a key is rotated with no downtime: add the new key (both verify),
/// then let it sign, then, once the old key's tokens have expired, remove the old key. The keys
/// only come from configuration, and each is at least 32 bytes so that it cannot be guessed.
///
/// The secret's value is `{"signing": "<kid>", "<kid>": "<key>", ...}`, as CloudFormation's
/// `GenerateSecretString` makes it from `SecretStringTemplate` and `GenerateStringKey`; a plain
/// string is one key, with the id `default`.
#[derive(Clone)]
pub struct JwtSecret {
    signing: String,
    keys: Keys,
}

/// Key ids and their keys.
type Keys = Vec<(String, Vec<u8>)>;

const PLAIN_KEY_ID: &str = "default";

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "JwtSecret(signing {:?}, {} keys, <redacted>)",
            self.signing,
            self.keys.len()
        )
    }
}

impl JwtSecret {
    pub fn parse(raw: &str) -> Result<Self, TokenError> {
        let (signing, keys) = if raw.trim_start().starts_with('{') {
            Self::parse_keyset(raw)?
        } else {
            (
                PLAIN_KEY_ID.to_owned(),
                vec![(PLAIN_KEY_ID.to_owned(), raw.as_bytes().to_vec())],
            )
        };
        if keys.iter().any(|(_, key)| key.len() < 32) {
            return Err(TokenError::WeakSecret);
        }
        if !keys.iter().any(|(kid, _)| *kid == signing) {
            return Err(TokenError::NoSigningKey(signing));
        }
        Ok(Self { signing, keys })
    }

    fn parse_keyset(raw: &str) -> Result<(String, Keys), TokenError> {
        let mut members: std::collections::BTreeMap<String, String> =
            serde_json::from_str(raw).map_err(|_| TokenError::MalformedKeyset)?;
        let signing = members
            .remove("signing")
            .ok_or(TokenError::MalformedKeyset)?;
        let keys = members
            .into_iter()
            .map(|(kid, key)| (kid, key.into_bytes()))
            .collect();
        Ok((signing, keys))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("every JWT signing key must be at least 32 characters")]
    WeakSecret,
    #[error("the JWT keyset must be a JSON object of strings with a \"signing\" key id")]
    MalformedKeyset,
    #[error("the JWT keyset's signing key {0:?} is not one of its keys")]
    NoSigningKey(String),
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
    signing: (String, EncodingKey),
    verifying: Vec<(String, DecodingKey)>,
    validation: Validation,
    ttl_seconds: u64,
}

impl TokenService {
    pub fn new(secret: &JwtSecret, ttl_seconds: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 0;
        let key = |kid: &str| secret.keys.iter().find(|(id, _)| id == kid).map(|(_, k)| k);
        let signing_key = key(&secret.signing).expect("JwtSecret::parse checked it");
        Self {
            signing: (
                secret.signing.clone(),
                EncodingKey::from_secret(signing_key),
            ),
            verifying: secret
                .keys
                .iter()
                .map(|(kid, key)| (kid.clone(), DecodingKey::from_secret(key)))
                .collect(),
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing.0.clone());
        let token = encode(&header, &claims, &self.signing.1).map_err(|_| TokenError::Signing)?;
        Ok(AccessToken {
            access_token: token,
            token_type: "Bearer",
            expires_in: self.ttl_seconds,
        })
    }

    /// Verifies with the key the token's `kid` names (a token without one, from before key ids,
    /// with the signing key); a `kid` this service does not hold is refused.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        let kid = header.kid.as_deref().unwrap_or(&self.signing.0);
        let (_, key) = self
            .verifying
            .iter()
            .find(|(id, _)| id == kid)
            .ok_or(TokenError::Invalid)?;
        decode::<Claims>(token, key, &self.validation)
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

    const OLD: &str = "an-old-key-that-is-long-enough-to-sign";
    const NEW: &str = "a-new-key-that-is-long-enough-to-sign!";

    fn keyset(signing: &str, keys: &[(&str, &str)]) -> TokenService {
        let mut members: serde_json::Map<String, serde_json::Value> = keys
            .iter()
            .map(|(kid, key)| ((*kid).to_owned(), (*key).into()))
            .collect();
        members.insert("signing".into(), signing.into());
        let raw = serde_json::Value::Object(members).to_string();
        TokenService::new(&JwtSecret::parse(&raw).unwrap(), 60)
    }

    fn kid(token: &AccessToken) -> Option<String> {
        decode_header(&token.access_token).unwrap().kid
    }

    #[test]
    fn a_key_is_rotated_with_two_verifying_and_one_signing() {
        let user = UserId::generate();
        let before = keyset("k1", &[("k1", OLD)]);
        let adding = keyset("k1", &[("k1", OLD), ("k2", NEW)]);
        let switched = keyset("k2", &[("k1", OLD), ("k2", NEW)]);
        let after = keyset("k2", &[("k2", NEW)]);

        let old_token = before.issue(user, Role::Customer).unwrap();
        assert_eq!(kid(&old_token).as_deref(), Some("k1"));
        // Every stage verifies what the stage before it signed.
        assert!(adding.verify(&old_token.access_token).is_ok());
        assert!(switched.verify(&old_token.access_token).is_ok());
        let new_token = switched.issue(user, Role::Customer).unwrap();
        assert_eq!(kid(&new_token).as_deref(), Some("k2"));
        assert!(adding.verify(&new_token.access_token).is_ok());
        assert!(after.verify(&new_token.access_token).is_ok());
        // The old key, once removed, verifies nothing more.
        assert_eq!(
            after.verify(&old_token.access_token),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_keyset_names_its_signing_key_and_every_key_is_strong() {
        assert_eq!(
            JwtSecret::parse(r#"{"k1": "an-old-key-that-is-long-enough-to-sign"}"#).err(),
            Some(TokenError::MalformedKeyset)
        );
        assert_eq!(
            JwtSecret::parse(&format!(r#"{{"signing": "k2", "k1": "{OLD}"}}"#)).err(),
            Some(TokenError::NoSigningKey("k2".into()))
        );
        assert_eq!(
            JwtSecret::parse(&format!(
                r#"{{"signing": "k1", "k1": "{OLD}", "k2": "short"}}"#
            ))
            .err(),
            Some(TokenError::WeakSecret)
        );
        assert_eq!(
            JwtSecret::parse(r#"{"signing": 1}"#).err(),
            Some(TokenError::MalformedKeyset)
        );
    }
}
