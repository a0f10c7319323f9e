//! Shared helpers for Rampart's integration tests.
