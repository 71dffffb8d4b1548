"""``python -m simlab``: the same as the ``simlab`` command."""

from simlab.cli import run_main

if __name__ == "__main__":
    run_main()
