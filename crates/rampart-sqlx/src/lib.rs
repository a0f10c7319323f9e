//! Rampart's SQL datastore.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
