//! Lossless reader and writer for CPython's marshal format and `.pyc` files.
//!
//! (Work in progress: the crate documentation, with a runnable example, is written with the reader.)
