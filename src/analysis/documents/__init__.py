"""The documents: one module per document, a shared base and the registry of documents.

Importing the package is light (the CLI reads :mod:`analysis.documents.registry` before any
kernel starts); each document module is imported where it is used.
"""

# The MIME types blocks display their data under, which the renderer reads back: here, not in
# blocks (matplotlib, pandas), so a batch worker laying out documents does not import those.
META_MIMETYPE = "application/vnd.workbench.meta+json"
# A table's cells as data, beside its HTML: the renderer writes every table to a spreadsheet.
TABLE_MIMETYPE = "application/vnd.workbench.table+json"
