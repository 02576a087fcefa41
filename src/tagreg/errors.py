"""The one base class of every error a user can cause (bad input, unknown names, git refusals)."""


class UserError(Exception):
    """A mistake or a situation the user can fix; the CLI prints it as one line and exits 1."""
