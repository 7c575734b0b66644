//! The pickle writer (not implemented yet).
