"""python -m cargowatch: the same as the cargowatch command."""

from cargowatch.cli import main

main()
