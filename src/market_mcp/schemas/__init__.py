"""Pydantic inputs and outputs per area, separate from the tables: a new column never changes a tool's contract."""
