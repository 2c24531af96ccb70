"""Errors a user can fix: the CLI prints them and exits with code 2."""


class InputError(Exception):
    """Bad input (params, files, checksums). The message names the key or file."""

    exit_code = 2
