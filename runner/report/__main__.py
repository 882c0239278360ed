import sys

from runner.report.sections import main

sys.exit(main(sys.argv))
