"""The archival package (a command, not a stage): ``python -m pipeline publish OUT --to PACKAGE``."""
