"""The one exception type that means "the user asked for something we can't do"."""


class UserError(Exception):
    """Bad input: printed as one line by the entry points, never as a traceback."""
