"""抽奖 lottery (issue 6 §6): prize tables, chances, server-side draws with an audit record."""
