"""The demo brand: a deterministic beauty/FMCG brand written in bulk (`siyu demo`)."""
