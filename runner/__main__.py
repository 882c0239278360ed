from runner.cli import main
from runner.exiting import without_final_collection

without_final_collection()
main()
