"""Local fakes of outside services (WeChat Pay, WeChat's mini-program API) for tests.

Each fake is a FastAPI app served on loopback by ``tests.live.serve`` and speaks the
real protocol, so siyu's real clients are what the tests exercise.
"""
