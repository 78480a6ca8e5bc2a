"""Every command, by name, and the faces each has: :data:`COMMANDS` of the command line,
:data:`MAGIC` of the notebook (``%mlops``), in the order their help lists them."""

from __future__ import annotations

from nbmlops.cli import assess, data, jobs, models, monitor, notebook, reproduce, sync
from nbmlops.cli.command import Command

#: Every command, by name.
ALL: dict[str, Command] = {
    c.name: c for c in (*sync.COMMANDS, *data.COMMANDS, *jobs.COMMANDS, *models.COMMANDS,
                        *reproduce.COMMANDS, *assess.COMMANDS, *monitor.COMMANDS,
                        *notebook.COMMANDS)
}

#: The commands of the command line (``nbmlops NAME``).
COMMANDS: dict[str, Command] = {n: c for n, c in ALL.items() if c.run is not None}

#: Commands of the command line only: they write job folders, start kernels or builds,
#: follow data across experiments, answer an orchestrator; a terminal beside the notebook
#: (or a scheduler's task) runs them.
SHELL_ONLY = ("export", "run", "schedule", "image", "lineage", "reproduce",
              "retrain-decision")

#: Commands of the notebook only: they read the kernel (its variables, its tracked cells)
#: or show a widget.
NOTEBOOK_ONLY = ("register", "compare", "slice")

#: The commands of the notebook (``%mlops NAME``).
MAGIC: dict[str, Command] = {n: c for n, c in ALL.items() if n not in SHELL_ONLY}


def overview() -> str:
    """The commands of ``%mlops``, one a line, and those of the command line only."""
    width = max(map(len, MAGIC))
    lines = ["%mlops COMMAND [options]   (%mlops COMMAND -h: its options; default: status)"]
    lines += [f"  {name:{width}}  {cmd.help}" for name, cmd in MAGIC.items()]
    lines.append("On the command line only (nbmlops COMMAND -h): " + ", ".join(SHELL_ONLY))
    return "\n".join(lines)
