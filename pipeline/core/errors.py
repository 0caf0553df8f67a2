"""The one error type a user sees: a single line naming the file or key and what is wrong."""


class PipelineError(Exception):
    """A problem with the user's input or environment, reported as one line and exit code 2."""
