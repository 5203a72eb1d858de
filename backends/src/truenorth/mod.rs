//! IBM TrueNorth.

pub mod spec;

pub use spec::TARGET;
