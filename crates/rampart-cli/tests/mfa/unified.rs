//! Unified sign-in (`/us-*`) through the demo server.
