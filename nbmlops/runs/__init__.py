"""Reading MLflow: pages of runs, one run in full, diffs of runs, data lineage."""
