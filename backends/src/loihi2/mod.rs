//! Intel Loihi 2.

pub mod spec;

pub use spec::TARGET;
