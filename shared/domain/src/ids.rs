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
ulid_id!(
    /// Identifies a notification; a ULID of the event's time, so notifications sort by it.
    NotificationId
);

impl NotificationId {
    /// The id of the notification that event `event_id`, of time `at`, gives: the same on every
    /// delivery of the event, so a redelivery meets the notification the first one stored.
    pub fn of_event(at: crate::Timestamp, event_id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(event_id.as_bytes());
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest[..10]);
        Self(Ulid::from_parts(
            at.unix_millis(),
            u128::from_be_bytes(random),
        ))
    }
}

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

    #[test]
    fn a_notification_id_is_the_same_for_one_event_and_sorts_by_its_time() {
        let at = crate::Timestamp::from_unix_millis(1_795_262_400_000);
        let later = crate::Timestamp::from_unix_millis(1_795_262_400_001);
        let id = NotificationId::of_event(at, "e1#OrderPlaced");
        assert_eq!(id, NotificationId::of_event(at, "e1#OrderPlaced"));
        assert_ne!(id, NotificationId::of_event(at, "e1#OrderConfirmed"));
        assert!(NotificationId::of_event(later, "a") > id);
    }
}
