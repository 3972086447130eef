"""Catalog: categories, products (SPU), SKUs, prices, locations and stock."""
