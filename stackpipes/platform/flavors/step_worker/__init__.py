"""Warm step worker: ZenML is imported once, and every Airflow task's step runs in a fork of it.

A step process spends most of its start-up importing ZenML, pandas and pyarrow (seconds per task
on a small machine, more when several tasks start at once). `run.py airflow up` starts this
server beside Airflow; each task's command (`python -m stackpipes.platform.flavors.step_task ARGS`)
is then a small client:

  - the client connects to the Unix socket named by $STACKPIPES_STEP_SERVER (a folder of the
    Airflow home readable only by its owner; the server also checks the peer's uid) and sends
    its argv, full environment, cwd, sys.path and umask, and its stdin/stdout/stderr file
    descriptors (SCM_RIGHTS);
  - the server forks. The child takes the task's descriptors as 0/1/2 (its output goes straight
    to the Airflow task log), the task's environment, cwd and argv, re-reads ZenML's logging
    settings, and runs the same code as a task without server (`step_task.run_in_process`);
  - the server sends back the child's exit status, which the client exits with. If the client
    goes away (Airflow killed the task), the server terminates the child's process group and
    reaps it; if the server dies, its children get SIGTERM (PR_SET_PDEATHSIG).

The server imports libraries only: no project code (a changed step is imported fresh by each
child), no store connection, no thread of its own (pandas' pyarrow starts jemalloc's background
thread and numpy OpenBLAS's pool; both register fork handlers). Libraries that hold threads or
locks across fork (torch, TensorFlow, gRPC, MLflow) are never preloaded. It also lists the
installed distributions once (ZenML's package lookup, and the `pip freeze` recorded by the task
that starts a run), which is why it declines work once installed packages change.

The client falls back to running the step in its own process (the old path, always correct)
when no server answers, when the task's interpreter is another one, when an environment
variable read at import time (ZenML's constants, PYTHON*, thread counts) differs from the
server's, or when installed packages changed since the server started. The fallback prints
one line to the task log saying why.

The parts: `protocol` (the socket messages), `client` (what a task runs), `server` (accepts and
forks) and `child` (what the fork does). `airflow_server.up()` starts the server as
`python -m stackpipes.platform.flavors.step_worker.server --socket PATH`. The protocol and the
client import only the standard library: the client runs in every task.
"""

