"""One module per ``dativo`` command, each exposing ``command: click.Command``.

Commands stay thin: parse, one library call, render through :class:`~..output.Output`.
Heavy imports happen inside the command body, never at module import.
"""
