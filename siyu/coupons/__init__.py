"""Coupons: templates, issuing, redemption at checkout and at the till, expiry, statistics."""
