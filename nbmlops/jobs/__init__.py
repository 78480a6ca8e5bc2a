"""A notebook as a job, in two halves around what both know.

Shared here: the job spec (``job.yaml``, :mod:`~nbmlops.jobs.spec`), its schedule
(:mod:`~nbmlops.jobs.schedule`), the pipeline graph (:mod:`~nbmlops.jobs.pipeline`), the
schedulers' files (:mod:`~nbmlops.jobs.targets`) and the overview of a notebook's jobs.
:mod:`nbmlops.jobs.export` turns notebooks into a job folder (``nbmlops export``);
:mod:`nbmlops.jobs.run` runs one (``nbmlops run``). The two never import each other: a job
folder on disk is all that passes between them."""
