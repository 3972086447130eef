"""WeChat: Pay API v3 (``pay``) and mini-program sign-in (``miniprogram``)."""
