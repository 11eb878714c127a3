//! Integration tests of the metadata store, against real database files in temporary directories.

mod support;
