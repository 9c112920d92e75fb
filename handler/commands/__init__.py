"""The command line: collect, check, status, verify, decode."""
