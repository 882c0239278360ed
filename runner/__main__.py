import sys

from runner.console import sweep

sweep(sys.argv[1:])
