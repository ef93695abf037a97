"""Payments adapters: protocol, sandbox and real-service implementations."""
