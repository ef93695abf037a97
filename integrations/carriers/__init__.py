"""Carriers adapters: protocol, sandbox and real-service implementations."""
