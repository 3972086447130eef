"""Payment providers (sandbox, WeChat Pay v3) and how their results change orders."""
