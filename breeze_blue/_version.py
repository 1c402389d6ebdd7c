"""The package version, read by the build backend and sent in the User-Agent."""

__version__ = "0.1.0"
"""This release's version: the package's and the API description's (``info.version``)."""
