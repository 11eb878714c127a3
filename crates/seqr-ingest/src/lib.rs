//! Decoders from Seq's ingestion payloads to [`seqr_types::Event`]s. Pure: no I/O.
