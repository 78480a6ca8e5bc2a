"""Kubernetes: a CronJob running the job's image, and the Pod both it and Airflow's
KubernetesPodOperator start, checked against the schemas of the last Kubernetes releases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.schedule import cron_of
from nbmlops.jobs.spec import Job, Schedule
from nbmlops.jobs.targets.base import Target, tracking_uri
from nbmlops.jobs.targets.image import USER_ID, dns_name, image_name, job_in_image

#: Where the job finds its tracking server when job.yaml names none: a Service called mlflow.
IN_CLUSTER_TRACKING_URI = "http://mlflow:5000"
#: An optional Secret holding the tracking server's basic-auth credentials.
CREDENTIALS_SECRET = "mlflow-credentials"
#: How many of the newest Kubernetes minor releases a manifest must validate against.
RELEASES_CHECKED = 3


def container(job: Job, folder: Path, name: str = "job") -> dict[str, Any]:
    """The container that runs ``nbmlops run`` on the job folder inside the image."""
    inside = str(job_in_image(job, folder))
    credentials = [
        {"name": variable, "valueFrom": {"secretKeyRef": {
            "name": CREDENTIALS_SECRET, "key": key, "optional": True}}}
        for variable, key in (("MLFLOW_TRACKING_USERNAME", "username"),
                              ("MLFLOW_TRACKING_PASSWORD", "password"))
    ]
    return {
        "name": name,
        "image": image_name(job),
        "command": ["nbmlops", "run", inside],
        "workingDir": inside,
        "env": [{"name": "MLFLOW_TRACKING_URI",
                 "value": tracking_uri(job) or IN_CLUSTER_TRACKING_URI}, *credentials],
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"memory": "4Gi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False},
    }


def pod_spec(job: Job, folder: Path, container_name: str = "job") -> dict[str, Any]:
    return {
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": USER_ID, "runAsGroup": USER_ID},
        "containers": [container(job, folder, container_name)],
    }


def labels(job: Job) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "nbmlops", "nbmlops/job": dns_name(job.name)}


def releases() -> list[str]:
    """The newest :data:`RELEASES_CHECKED` minor releases kubernetes-validate has schemas of."""
    import kubernetes_validate.utils as kv

    newest: dict[tuple[int, int], str] = {}
    for release in kv.all_versions():
        major, minor, *_ = (int(part) for part in release.split("."))
        newest.setdefault((major, minor), release)
    return [newest[key] for key in sorted(newest)[-RELEASES_CHECKED:]]


def validate(manifest: dict[str, Any], what: str) -> None:
    """A ScheduleError unless ``manifest`` is valid in each of the newest releases."""
    import kubernetes_validate

    for release in releases():
        try:
            kubernetes_validate.validate(manifest, release, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            raise ScheduleError(
                f"invalid {what} for Kubernetes {release} at {path}: {e.message}") from None


class KubernetesTarget(Target):
    name = "kubernetes"
    filename = "cronjob.yaml"
    description = "`kubectl apply -f cronjob.yaml`, once the job's image is built and pushed"

    def needs(self, schedule: Schedule) -> tuple[str, ...]:
        return ("image",)

    def manifest(self, job: Job, folder: Path) -> dict[str, Any]:
        job_spec: dict[str, Any] = {
            "backoffLimit": job.retries,
            "template": {"metadata": {"labels": labels(job)}, "spec": pod_spec(job, folder)},
        }
        if job.run_timeout:
            job_spec["activeDeadlineSeconds"] = int(job.run_timeout * (job.retries + 1))
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": dns_name(job.name), "labels": labels(job)},
            "spec": {
                "schedule": cron_of(job),
                "timeZone": job.schedule.timezone,
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": job_spec},
            },
        }

    def render(self, job: Job, folder: Path) -> str:
        import yaml

        where = ("job.yaml's tracking_uri" if job.tracking_uri else
                 f"a Service named mlflow ({IN_CLUSTER_TRACKING_URI}); set tracking_uri in "
                 "job.yaml to change it")
        return (f"# nbmlops job {job.name}: runs the image of its Dockerfile "
                f"({image_name(job)}).\n# Tracking server: {where}; credentials from the "
                f"Secret {CREDENTIALS_SECRET} (username, password) when it exists.\n"
                + yaml.safe_dump(self.manifest(job, folder), sort_keys=False))

    def check(self, text: str) -> None:
        import yaml

        validate(yaml.safe_load(text), "CronJob manifest")
