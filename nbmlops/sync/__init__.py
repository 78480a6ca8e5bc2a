"""From the spool to MLflow: the spool's folders and records, the sync process, the upload."""
