//! Extended pickles: shipped functions, closures and classes, decoded without running them.
//!
//! (Work in progress: the decoder of extended formats lands with its issue. Today the crate
//! hosts the JSON views and the `brine` command-line tool.)

#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod error;
pub mod infer;
#[cfg(feature = "json")]
pub mod json;
pub mod limits;
pub mod model;
pub mod recognise;
