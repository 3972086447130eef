"""砍价 bargain (issue 6 §4): friends cut the price towards a floor; the initiator buys."""
