"""A tiny HTTP server (standard library + humanize) for Slipway's python example."""
