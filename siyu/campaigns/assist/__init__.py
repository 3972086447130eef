"""助力 assist and 0-yuan claim (issue 6 §5): N friends assist to unlock a reward."""
