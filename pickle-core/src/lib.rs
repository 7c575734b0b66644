//! Python pickle protocols 0–5, read and written exactly as CPython does, without executing anything.
//!
//! (Work in progress.)

pub mod writer;
