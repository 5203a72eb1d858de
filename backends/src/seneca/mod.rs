//! imec SENeCA.

pub mod spec;

pub use spec::TARGET;
