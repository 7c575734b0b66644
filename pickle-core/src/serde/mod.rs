//! serde support (feature `serde`): deserialize plain-data pickles into Rust types, as people
//! use `serde-pickle` today, but over the symbolic graph (so shared references, cycles and
//! every opcode are handled, and nothing is executed).
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! let v: Vec<(i32, String)> =
//!     brine_pickle_core::serde::from_slice(b"\x80\x04](K\x01\x8c\x01a\x86K\x02\x8c\x01b\x86e.").unwrap();
//! assert_eq!(v, vec![(1, "a".to_string()), (2, "b".to_string())]);
//! # }
//! ```

pub mod de;

pub use de::{from_graph, from_slice, from_slice_with, DeContext, DeError, NodeDeserializer};
