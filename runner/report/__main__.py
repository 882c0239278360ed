import sys

from runner.collector import command, importing

command()
with importing():
    from runner.report.sections import main

sys.exit(main(["python -m runner.report", *sys.argv[1:]]))
