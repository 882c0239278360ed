import sys

from runner.exiting import without_final_collection
from runner.report.sections import main

without_final_collection()
sys.exit(main(["python -m runner.report", *sys.argv[1:]]))
