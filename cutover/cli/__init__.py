"""The ``cutover`` command line: one module per command group, all registered on :data:`cutover.cli.app.app`.

:func:`cutover.cli.main.main` imports :mod:`cutover.cli.commands` (which imports every group module) before it
runs the app. Each command module keeps its heavy imports (psycopg, boto3) inside its functions, so that ``--help``
and start-up stay fast; the one :class:`cutover.cli.terminal.Terminal` owns what reaches the screen and the exit code.
"""
