"""Data steps of the pipeline: ingest, schema inference, validation, profiling. Pure: no storage I/O."""
