//! JSON views of what brine reads, as printed by `brine ... --json` and compared with CPython's
//! own view in the fixture tests. The schema is documented in the README.

pub mod code;
pub mod pickle;
pub mod pyc;
pub mod tree;

pub use tree::{hex, Json, JsonParseError};
