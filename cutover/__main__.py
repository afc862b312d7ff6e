"""``python -m cutover``: the migration tool's command line (see ``cutover/cli/``)."""

from cutover.cli.main import main

if __name__ == "__main__":
    main()
