"""``expect:``: the expression language, the names it may use, and the verdicts against summary rows."""
