"""Files to tables: cell records to the tidy CSVs, and the CSVs back into tables (``runner.load``).

Imports the core and ``runner.files``; never the sweep, claims or report.
"""
