import sys

from runner.compare.cli import main
from runner.exiting import without_final_collection

without_final_collection()
sys.exit(main(["python -m runner.compare", *sys.argv[1:]]))
