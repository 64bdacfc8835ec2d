"""What the domain refuses, by kind. The API answers each kind with one status and the error's message,
so it needs this module alone, not the modules that raise them (a cold start imports what it uses)."""


class NotFound(LookupError):
    """What was asked for does not exist (404); the message names it."""


class NotAllowedNow(Exception):
    """The request is valid, but it does not apply to things as they stand (409); the message says why."""


class Unworkable(ValueError):
    """The request is well formed but cannot be carried out as asked (422); the message says why."""
