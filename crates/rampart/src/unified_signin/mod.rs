//! Unified sign-in (`SECURITY_UNIFIED_SIGNIN`): passwordless sign-in with a code sent by
//! email or SMS, an authenticator app, the password, or a magic link; identity attributes;
//! freshness re-verification (`/us-verify`). The endpoints live in `views`.
