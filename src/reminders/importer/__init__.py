"""Importing task tables (flattened text, .docx, .xlsx, .csv) into duties."""
