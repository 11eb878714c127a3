//! seqr HTTP server.
