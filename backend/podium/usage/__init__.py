"""Usage engine: adapters read agents' own logs, ingest stores deduplicated entries,
pricing turns tokens into dollars, reports aggregate them."""
