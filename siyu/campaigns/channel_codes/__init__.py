"""Channel codes (渠道活码): short URLs, QR codes, posters, attribution and stats."""
