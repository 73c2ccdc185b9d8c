"""Research workbench for the Decision 766 index of service to citizens and businesses."""

__version__ = "0.1.0"
