//! Intel Loihi (the first generation).

pub mod spec;

pub use spec::TARGET;
