"""Group buy (拼团, issue 6 §3): deals, groups opened by a paying leader and joined
through a share link, filled or failed and refunded at the deadline."""
