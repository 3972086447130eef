"""Share posters (issue 6 §8): a PNG per campaign and per product with a QR code to a
share link that carries the sharer's referrer code; cached on disk by content hash."""
