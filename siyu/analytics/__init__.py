"""Analytics: where GMV comes from (docs/analytics.md, docs/metrics.md)."""
