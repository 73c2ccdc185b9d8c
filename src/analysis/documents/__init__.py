"""The documents: one module per document, a shared base and the registry of documents.

Importing the package is light (the CLI reads :mod:`analysis.documents.registry` before any
kernel starts); each document module is imported where it is used.
"""
