//! JSON view of `.pyc` files, code objects and marshal values (not implemented yet).
