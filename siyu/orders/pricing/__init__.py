"""The pricing pipeline: one ordered list of steps from base prices to the amount charged.

See ``pipeline.py`` and docs/pricing.md.
"""
