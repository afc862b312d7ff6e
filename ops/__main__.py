"""Operator CLI: ``python -m ops <command>`` (see ``--help`` and ``ops.cli``)."""

from ops.cli import main

if __name__ == "__main__":
    main()
