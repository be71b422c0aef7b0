"""python -m cargowatch: the same as the cargowatch command."""

from cargowatch.cli import main

if __name__ == "__main__":  # worker processes (spawned) import this module without running it
    main()
