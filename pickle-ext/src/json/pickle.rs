//! JSON view of pickle graphs (not implemented yet).
