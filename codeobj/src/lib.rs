//! What a CPython code object means in every version from 2.7 to 3.14.
#![warn(missing_docs)]

pub mod opcodes;
