//! Extended pickles: shipped functions, closures and classes, decoded without running them.
//!
//! (Work in progress.)
