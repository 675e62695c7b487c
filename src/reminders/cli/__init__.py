"""The command line: argument parsing and the one place errors become messages."""
