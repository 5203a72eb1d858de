//! Typed entity ids. Their `Display` is the spelling used by the text format.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! entity {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The prefix this id is written with in the text format.
            pub const PREFIX: char = $prefix;

            /// The id's position as a `usize`.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// Parses the text-format spelling (`n3`, `t0`).
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                if rest.is_empty() || (rest.len() > 1 && rest.starts_with('0')) {
                    return None;
                }
                rest.parse().ok().map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    };
}

entity!(
    /// A node of the dataflow graph: a value computed once per time step.
    NodeId,
    'n'
);
entity!(
    /// A constant tensor in the graph's tensor table.
    TensorId,
    't'
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_agree() {
        assert_eq!(NodeId(7).to_string(), "n7");
        assert_eq!(TensorId(0).to_string(), "t0");
        assert_eq!(NodeId::parse("n12"), Some(NodeId(12)));
        assert_eq!(NodeId::parse("t12"), None);
        assert_eq!(NodeId::parse("n"), None);
        assert_eq!(NodeId::parse("n01"), None);
        assert_eq!(TensorId::parse("t0"), Some(TensorId(0)));
    }
}
