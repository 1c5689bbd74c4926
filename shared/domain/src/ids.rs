use crate::InvalidValue;
use std::{fmt, str::FromStr};
use ulid::Ulid;

macro_rules! ulid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            pub fn generate() -> Self {
                Self(Ulid::new())
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Ulid::from_string(raw)
                    .map(Self)
                    .map_err(|_| InvalidValue::new("must be a 26-character ULID"))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                raw.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

ulid_id!(
    /// Identifies a product; assigned by Cartwheel, never by the client.
    ProductId
);
ulid_id!(
    /// Identifies a user account.
    UserId
);
ulid_id!(
    /// Identifies a review; a ULID, so that reviews sort by the time they were written.
    ReviewId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_garbage() {
        let id = ProductId::generate();
        assert_eq!(id.to_string().parse::<ProductId>(), Ok(id));
        assert!("not-a-ulid".parse::<ProductId>().is_err());
        assert!("".parse::<UserId>().is_err());
    }
}
