"""Errors the tool reports to users (the CLI prints them without a traceback)."""


class FramingError(Exception):
    """An error caused by input or configuration that the user can fix; the message says how."""


class InputError(FramingError):
    """Bad input data: the message names the file and the line, record or byte offset."""


class ConfigError(FramingError):
    """A bad configuration file or option."""
