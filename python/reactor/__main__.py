"""``python -m reactor`` runs the command line."""

from __future__ import annotations

from reactor.cli import main

main()
