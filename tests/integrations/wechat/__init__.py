"""WeChat Pay v3 provider and mini-program sign-in."""
