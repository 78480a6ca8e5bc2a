"""Data versions and checks: fingerprints, profiles, drift, expectations.

Pure: nothing here imports mlflow or touches the spool.
"""
