//! Stable code enums: one macro, [`stable_codes!`], writes the diagnostic codes ([`crate::check::Code`]) and the
//! trace codes ([`crate::sim::TraceCode`]) alike.
//!
//! A stable code is a closed set of `SCREAMING_SNAKE_CASE` identifiers that appear in JSON output, tests and
//! docs. Each variant names its text once; the macro derives the serde names, [`Display`](std::fmt::Display),
//! `as_str` and `ALL` (every code, in documentation order) from it, so the four can never disagree.
//!
//! ```
//! use netmodel::{sim::TraceCode, Code};
//! assert_eq!(Code::MissingReturnRoute.as_str(), "MISSING_RETURN_ROUTE");
//! assert_eq!(TraceCode::NotTransitive.to_string(), "NOT_TRANSITIVE");
//! assert_eq!(serde_json::to_string(&Code::CidrOverlap).unwrap(), "\"CIDR_OVERLAP\"");
//! assert!(TraceCode::ALL.contains(&TraceCode::Accepted));
//! ```

/// Declares a stable code enum: `$(#[doc])* pub enum Name { $(#[doc])* Variant => "TEXT", … }`.
///
/// Generates the enum (`Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize`, each
/// variant serialised as its text), `Name::ALL`, `Name::as_str` and `Display`.
macro_rules! stable_codes {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident {
            $($(#[$doc:meta])* $name:ident => $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        pub enum $enum {
            $($(#[$doc])* #[serde(rename = $text)] $name,)*
        }

        impl $enum {
            /// Every code, in documentation order.
            pub const ALL: &'static [$enum] = &[$($enum::$name,)*];

            /// The code as it appears in output.
            pub fn as_str(self) -> &'static str {
                match self { $($enum::$name => $text,)* }
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use stable_codes;

#[cfg(test)]
mod tests {
    use crate::{check::Code, sim::TraceCode};

    #[test]
    fn every_code_serialises_as_its_text_and_reads_back() {
        for c in Code::ALL {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Code>(&json).unwrap(), *c);
            assert_eq!(c.to_string(), c.as_str());
        }
        for c in TraceCode::ALL {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<TraceCode>(&json).unwrap(), *c);
            assert_eq!(c.to_string(), c.as_str());
        }
    }

    #[test]
    fn the_sets_are_complete_and_distinct() {
        assert_eq!(Code::ALL.len(), 22);
        assert_eq!(TraceCode::ALL.len(), 16);
        let texts: std::collections::BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(texts.len(), Code::ALL.len());
        let texts: std::collections::BTreeSet<&str> = TraceCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(texts.len(), TraceCode::ALL.len());
    }
}
