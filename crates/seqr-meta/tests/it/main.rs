//! Integration tests of the metadata store, against real database files in temporary directories.

mod apikeys;
mod audit;
mod db;
mod retention;
mod secret_rotation;
mod sessions;
mod settings;
mod support;
mod users;
