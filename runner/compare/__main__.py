import sys

from runner.collector import command, importing

command()
with importing():
    from runner.compare.cli import main

sys.exit(main(["python -m runner.compare", *sys.argv[1:]]))
