import sys

from runner.compare.cli import main

sys.exit(main(sys.argv))
