"""A notebook as a job: parameterize it, lint it, the job spec (``job.yaml``), the job
folder, running a job with papermill, and the schedule targets."""
