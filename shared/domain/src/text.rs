use crate::InvalidValue;

/// Trims `raw` and checks its length in characters, for the free-text value types.
pub(crate) fn bounded(raw: &str, min: usize, max: usize) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars < min || chars > max {
        return Err(InvalidValue::new(if min > 0 {
            format!("must be {min} to {max} characters (after trimming)")
        } else {
            format!("must be at most {max} characters")
        }));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidValue::new("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// Declares a string newtype that is parsed by `$parse` and (de)serializes as a plain string.
macro_rules! string_value {
    ($(#[$meta:meta])* $name:ident, $parse:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, $crate::InvalidValue> {
                let parse: fn(&str) -> Result<String, $crate::InvalidValue> = $parse;
                parse(raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::InvalidValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_value;
