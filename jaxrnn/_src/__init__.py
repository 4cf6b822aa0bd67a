"""Implementations of jaxrnn, one module per concept of the paper; private.

Import from ``jaxrnn`` and its public namespaces instead (see ``API.md``).
"""
