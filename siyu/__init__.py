"""siyu (私域): a self-hostable private-domain commerce operating system."""

__version__ = "0.1.0"
