"""monitor: follows one front of a war in the news and alerts when control of a town changes hands."""

__version__ = "0.1.0"
USER_AGENT = f"monitor/{__version__} (+https://github.com/monitor-front/monitor)"
