"""Wallwatch: security monitoring and audit daemon for accounting firms' file servers."""

__version__ = "0.1.0"
