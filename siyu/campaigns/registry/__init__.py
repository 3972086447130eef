"""The campaign registry (issue 6 §1): one table and one service for every mechanic."""
