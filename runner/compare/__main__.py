import sys

from runner.compare.cli import main
from runner.exiting import without_final_collection

without_final_collection()
sys.exit(main(sys.argv))
