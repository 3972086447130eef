"""Clients for outside platforms (WeChat Pay, mini program, later WeCom and the OA)."""
