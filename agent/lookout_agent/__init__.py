"""The Lookout push agent: registers once, then pushes sections over mTLS. No listening port."""

__version__ = "0.1.0"
